package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/bench/internal/serverproc"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/workflows"
)

// The server-cost scenario: N nodes poll every interval until their job is
// done at its P-th poll, one way of waiting at a time, on a Temporal server
// process with a persistent store. Each way is judged by the server's CPU
// time per 1,000 polls, next to two baselines on the same server: a bare
// workflow that only sleeps P times in a loop (a timer per "poll", no
// HTTP), and Temporal's infrequent-polling sample (one activity retried at
// the interval until the job is done). A third baseline, heartbeat, is an
// activity that heartbeats P times at the interval, straight to the server
// (no throttle): the server's cost of one heartbeat, which with the
// sample's cost of one try gives auto mode's crossover.

// costWays are the ways the scenario knows, in the order it runs them.
var costWays = []string{"timer", "activity", "retry", "auto", "retry-sample", "sleep-loop", "heartbeat"}

// waySpan is one way's round: what the server, its store and the worker
// spent, the polls made, lateness, and how long it took.
type waySpan struct {
	way                        string
	server, store, workerCPU   time.Duration
	polls                      int64
	took                       time.Duration
	late                       []time.Duration
	eventsPerNode, workerPerKB float64
	steady                     float64 // polls/s while every node waits; 0: no such window
}

func (s waySpan) perThousand(d time.Duration) float64 {
	if s.polls == 0 {
		return 0
	}
	return d.Seconds() * 1000 / float64(s.polls)
}

// serverCost runs the scenario: o.costRounds rounds, the ways alternating
// their order, on a server process of o.store.
func serverCost(ctx context.Context, o options, t *table) error {
	srv, wk, stop, err := serverAndWorker(ctx, &o, "bench-cost")
	if err != nil {
		return err
	}
	defer stop()
	defer wk.stop()

	ways := o.ways
	var spans []waySpan
	for r := range o.costRounds {
		order := slices.Clone(ways)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, way := range order {
			s, err := costRound(ctx, srv, wk, o, way, r)
			if err != nil {
				return fmt.Errorf("%s: %v", way, err)
			}
			fmt.Fprintf(os.Stderr, "  round %d %s: server %.2f s per 1,000 polls (+ store %.2f), %d polls in %s\n",
				r+1, way, s.perThousand(s.server), s.perThousand(s.store), s.polls, s.took.Round(time.Second))
			spans = append(spans, s)
		}
	}
	costTable(o, ways, spans, t)
	return nil
}

// serverAndWorker starts a Temporal server process on o.store (o.address
// becomes its) and the measured worker on taskQueue; stop stops the server
// and removes its files.
func serverAndWorker(ctx context.Context, o *options, taskQueue string) (srv *serverproc.Server, wk *child, stop func(), err error) {
	dir, err := os.MkdirTemp("", "httpnode-"+taskQueue+"-")
	if err != nil {
		return nil, nil, nil, err
	}
	if srv, err = serverproc.Start(ctx, dir, o.store); err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	stop = func() { srv.Stop(); os.RemoveAll(dir) }
	o.address = srv.Addr
	fmt.Fprintf(os.Stderr, "Temporal server process on %s (%s store)\n", o.address, o.store)
	if wk, err = startWorker(*o, "", taskQueue); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return srv, wk, stop, nil
}

// costRound runs o.costNodes nodes of one way to their end and measures.
func costRound(ctx context.Context, srv *serverproc.Server, wk *child, o options, way string, round int) (waySpan, error) {
	c := srv.Client
	var mu sync.Mutex
	last := map[string]time.Time{}
	var late []time.Duration
	jobs := jobservice.New()
	jobs.OnPoll = func(id string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[id]; ok {
			late = append(late, at.Sub(prev)-o.costInterval)
		}
		last[id] = at
	}
	url, err := serve(ctx, jobs.Handler())
	if err != nil {
		return waySpan{}, err
	}
	prefix := fmt.Sprintf("cost-%s-%d-%d-", way, round, time.Now().UnixNano())
	start := startFor(ctx, c, o, way, url)

	time.Sleep(2 * time.Second) // the previous round's tail settles
	idle := wk.stats()
	s0, st0 := srv.CPU()
	w0 := processCPU(wk)
	p0 := jobs.Polls()
	t0 := time.Now()
	runs := make([]client.WorkflowRun, o.costNodes)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(o.costNodes); i = next.Add(1) - 1 {
				run, err := start(prefix + fmt.Sprint(i))
				if err != nil {
					firstErr.Store(err)
					return
				}
				runs[i] = run
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return waySpan{}, err
	}
	// the steady rate: polls from when every node has polled once (all
	// wait) until the first could be done (none is done sooner), against
	// the demand
	var steady float64
	end := t0.Add(time.Duration(o.costPolls-1) * o.costInterval)
	polled := func() int { mu.Lock(); defer mu.Unlock(); return len(last) }
	for polled() < o.costNodes && time.Now().Before(end) && way != "sleep-loop" && way != "heartbeat" {
		time.Sleep(10 * time.Millisecond)
	}
	if started, p1 := time.Now(), jobs.Polls(); polled() == o.costNodes && end.Sub(started) >= 2*o.costInterval {
		time.Sleep(time.Until(end))
		steady = float64(jobs.Polls()-p1) / time.Since(started).Seconds()
	} else {
		time.Sleep(2 * o.costInterval)
	}
	// memory once every node waits (a GC in the worker: a little of its CPU)
	busy := wk.stats()
	for _, run := range runs {
		if err := run.Get(ctx, nil); err != nil {
			return waySpan{}, fmt.Errorf("node %s: %v", run.GetID(), err)
		}
	}
	took := time.Since(t0)
	s1, st1 := srv.CPU()
	s := waySpan{way: way, server: s1 - s0, store: st1 - st0, workerCPU: processCPU(wk) - w0, polls: jobs.Polls() - p0, took: took, steady: steady}
	if way == "sleep-loop" || way == "heartbeat" {
		s.polls = int64(o.costNodes * o.costPolls) // its "polls" are its sleeps or heartbeats
	}
	d, err := c.DescribeWorkflowExecution(ctx, runs[0].GetID(), runs[0].GetRunID())
	if err != nil {
		return waySpan{}, err
	}
	s.eventsPerNode = float64(d.GetWorkflowExecutionInfo().GetHistoryLength())
	s.workerPerKB = float64(busy.rss-idle.rss) / float64(o.costNodes)
	mu.Lock()
	s.late = late
	mu.Unlock()
	return s, nil
}

// startFor is how a way starts one node with the given workflow id.
func startFor(ctx context.Context, c client.Client, o options, way, url string) func(id string) (client.WorkflowRun, error) {
	opts := func(id string) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: id, TaskQueue: "bench-cost"}
	}
	switch way {
	case "sleep-loop":
		return func(id string) (client.WorkflowRun, error) {
			return c.ExecuteWorkflow(ctx, opts(id), "BareSleepLoop", o.costPolls, o.costInterval)
		}
	case "heartbeat":
		return func(id string) (client.WorkflowRun, error) {
			return c.ExecuteWorkflow(ctx, opts(id), "BareHeartbeat", o.costPolls, o.costInterval)
		}
	case "retry-sample":
		return func(id string) (client.WorkflowRun, error) {
			task, err := submitJob(ctx, url, o.costPolls)
			if err != nil {
				return nil, err
			}
			return c.ExecuteWorkflow(ctx, opts(id), "BarePollRetry", url+"/status/"+task, o.costInterval)
		}
	}
	mode := ""
	if way != "timer" {
		mode = `"mode": "` + way + `", ` // auto: activity mode below the crossover, retry mode above it
	}
	node := json.RawMessage(fmt.Sprintf(`{"request": {"method": "POST", "url": "%s/jobs", "body": {"polls": %d}},
		"callback": {%s"url": "%s/status", "interval": "%s", "deadline": "2h"}, "retry": {"count": 0}}`, url, o.costPolls, mode, url, o.costInterval))
	return func(id string) (client.WorkflowRun, error) {
		return c.ExecuteWorkflow(ctx, opts(id), workflows.HTTPNodeName, node)
	}
}

// submitJob starts a job at the job service that is done at its polls-th
// status request, and returns its id.
func submitJob(ctx context.Context, url string, polls int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/jobs", strings.NewReader(fmt.Sprintf(`{"polls": %d}`, polls)))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		TaskID string `json:"taskId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.TaskID == "" {
		return "", fmt.Errorf("job service: %v", err)
	}
	return out.TaskID, nil
}

// costTable adds a row per way: medians over the rounds, and the ratios of
// the server's CPU per poll to the sleeping loop's and to timer mode's, as
// the median of the rounds' pairs.
func costTable(o options, ways []string, spans []waySpan, t *table) {
	byWay := map[string][]waySpan{}
	for _, s := range spans {
		byWay[s.way] = append(byWay[s.way], s)
	}
	ratio := func(way, base string) string {
		a, b := byWay[way], byWay[base]
		var rs []float64
		for i := range min(len(a), len(b)) {
			if x := b[i].perThousand(b[i].server); x > 0 {
				rs = append(rs, a[i].perThousand(a[i].server)/x)
			}
		}
		if len(rs) == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f× %s", median(rs), base)
	}
	demand := float64(o.costNodes) / o.costInterval.Seconds()
	t.add("server cost scenario", fmt.Sprintf("%d nodes × %d polls every %s, %d rounds, %s store", o.costNodes, o.costPolls, o.costInterval, o.costRounds, o.store),
		fmt.Sprintf("demand %.0f polls/s; ideal end after %s", demand, time.Duration(o.costPolls)*o.costInterval))
	for _, way := range ways {
		ss := byWay[way]
		if len(ss) == 0 {
			continue
		}
		med := func(f func(waySpan) float64) float64 {
			v := make([]float64, len(ss))
			for i, s := range ss {
				v[i] = f(s)
			}
			return median(v)
		}
		var late []time.Duration
		for _, s := range ss {
			late = append(late, s.late...)
		}
		lateness := "n/a (no HTTP)"
		if len(late) > 0 {
			slices.Sort(late)
			p := func(q float64) time.Duration { return late[int(q*float64(len(late)-1))].Round(time.Millisecond) }
			lateness = fmt.Sprintf("lateness p50 %s, p99 %s", p(0.5), p(0.99))
		}
		var notes []string
		for _, base := range []string{"sleep-loop", "timer"} {
			if base != way {
				if r := ratio(way, base); r != "" {
					notes = append(notes, r)
				}
			}
		}
		steady := ""
		if r := med(func(s waySpan) float64 { return s.steady }); r > 0 {
			steady = fmt.Sprintf(" (%.0f while every node waits)", r)
		}
		t.add("server CPU per 1,000 polls, "+way,
			fmt.Sprintf("%.2f s (+ store %.2f s); %.0f polls/s%s of %.0f, done after %.0f s; %s; worker CPU %.2f s per 1,000 polls, %.1f KB RSS per waiting node; %.0f events per node",
				med(func(s waySpan) float64 { return s.perThousand(s.server) }), med(func(s waySpan) float64 { return s.perThousand(s.store) }),
				med(func(s waySpan) float64 { return float64(s.polls) / s.took.Seconds() }), steady, demand, med(func(s waySpan) float64 { return s.took.Seconds() }),
				lateness, med(func(s waySpan) float64 { return s.perThousand(s.workerCPU) }), med(func(s waySpan) float64 { return s.workerPerKB }),
				med(func(s waySpan) float64 { return s.eventsPerNode })),
			strings.Join(notes, ", "))
	}
}

// processCPU is the CPU time the worker process has used.
func processCPU(c *child) time.Duration { return serverproc.PidCPU(c.cmd.Process.Pid) }

// The baselines' workflows and activity.

// bareSleepLoop sleeps n times: the SDK's and the server's floor of a
// workflow that wakes n times.
func bareSleepLoop(ctx workflow.Context, n int, every time.Duration) error {
	for range n {
		if err := workflow.Sleep(ctx, every); err != nil {
			return err
		}
	}
	return nil
}

// barePollRetry is Temporal's infrequent-polling sample: one activity,
// retried by its policy at the interval (no backoff) until it succeeds.
func barePollRetry(ctx workflow.Context, url string, every time.Duration) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: every, BackoffCoefficient: 1, MaximumInterval: every},
	})
	return workflow.ExecuteActivity(ctx, "BarePollStatus", url).Get(ctx, nil)
}

var errPending = errors.New("the job is still PROCESSING")

// barePollStatus fails while the job is pending, so its retry polls again.
func barePollStatus(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := bareClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	switch out.Status {
	case jobservice.Pending:
		return errPending
	case "SUCCESS":
		return nil
	}
	return temporal.NewNonRetryableApplicationError("job "+out.Status, "JobFailed", nil)
}

// bareHeartbeat runs one activity that heartbeats n times.
func bareHeartbeat(ctx workflow.Context, n int, every time.Duration) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Duration(n+10) * every,
		HeartbeatTimeout:    every + 10*time.Second,
	})
	return workflow.ExecuteActivity(ctx, "BareHeartbeats", n, every).Get(ctx, nil)
}

// bareHeartbeats heartbeats n times, every apart, by the client's call
// (the SDK's activity.RecordHeartbeat would throttle them).
func bareHeartbeats(c client.Client) func(ctx context.Context, n int, every time.Duration) error {
	return func(ctx context.Context, n int, every time.Duration) error {
		token := activity.GetInfo(ctx).TaskToken
		for i := range n {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(every):
			}
			if err := c.RecordActivityHeartbeat(ctx, token, i); err != nil {
				return err
			}
		}
		return nil
	}
}

func registerCostBaselines(w worker.Registry, c client.Client) {
	w.RegisterWorkflowWithOptions(bareHeartbeat, workflow.RegisterOptions{Name: "BareHeartbeat"})
	w.RegisterActivityWithOptions(bareHeartbeats(c), activity.RegisterOptions{Name: "BareHeartbeats"})
	w.RegisterWorkflowWithOptions(bareSleepLoop, workflow.RegisterOptions{Name: "BareSleepLoop"})
	w.RegisterWorkflowWithOptions(barePollRetry, workflow.RegisterOptions{Name: "BarePollRetry"})
	w.RegisterActivityWithOptions(barePollStatus, activity.RegisterOptions{Name: "BarePollStatus"})
}
