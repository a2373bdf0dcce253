package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/jobservice"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/workflows"
)

// loopbackOnly is the measured worker's egress: the bench's endpoints are on
// loopback.
var loopbackOnly = outbound.Config{Policy: egress.Loopback()}

// The bare baseline: one workflow, one activity doing the same GET with a
// plain http.Client, the same activity timeout and retry bound.
const bareName = "BareOneActivity"

var bareClient = &http.Client{}

func bareGet(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := bareClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func bareWorkflow(ctx workflow.Context, url string) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 40 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: workflows.RequestTries},
	})
	var code int
	err := workflow.ExecuteActivity(ctx, bareGet, url).Get(ctx, &code)
	return code, err
}

// bareWait only waits on a timer: the SDK's own cost of a cached, waiting
// workflow, next to which a waiting node's memory is judged.
func bareWait(ctx workflow.Context) error { return workflow.Sleep(ctx, 10*time.Minute) }

func registerBare(w worker.Registry) {
	w.RegisterWorkflowWithOptions(bareWait, workflow.RegisterOptions{Name: "BareWait"})
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: bareName})
	w.RegisterActivityWithOptions(bareGet, activity.RegisterOptions{Name: "BareGet"})
}

// runMany starts n workflows from 32 goroutines and waits for them all;
// it returns the completions per second.
func runMany(ctx context.Context, c client.Client, n int, start func(ctx context.Context, i int) (client.WorkflowRun, error)) (float64, error) {
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	t0 := time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				run, err := start(ctx, i)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(t0).Seconds(), firstErr
}

func throughput(ctx context.Context, c client.Client, o options, t *table) error {
	if o.nodes <= 0 || o.rounds <= 0 {
		return nil
	}
	url, err := serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"ok": true}`) }))
	if err != nil {
		return err
	}
	wk, err := startWorker(o, "", "bench-throughput")
	if err != nil {
		return err
	}
	defer wk.stop()
	node := json.RawMessage(`{"request": {"url": "` + url + `/ping"}, "retry": {"count": 0}}`)
	var bare, nodes []float64
	// Alternate which kind goes first, so that a server slowing down as it
	// fills up does not favour either.
	for r := range o.rounds {
		id := fmt.Sprintf("tp-%d-%d-", time.Now().UnixNano(), r)
		runBare := func() error {
			b, err := runMany(ctx, c, o.nodes, func(ctx context.Context, i int) (client.WorkflowRun, error) {
				return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "bare-" + fmt.Sprint(i), TaskQueue: "bench-throughput"}, bareName, url+"/ping")
			})
			bare = append(bare, b)
			return err
		}
		runNodes := func() error {
			n, err := runMany(ctx, c, o.nodes, func(ctx context.Context, i int) (client.WorkflowRun, error) {
				return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "node-" + fmt.Sprint(i), TaskQueue: "bench-throughput"}, workflows.HTTPNodeName, node)
			})
			nodes = append(nodes, n)
			return err
		}
		order := []func() error{runBare, runNodes}
		if r%2 == 1 {
			order = []func() error{runNodes, runBare}
		}
		for _, run := range order {
			if err := run(); err != nil {
				return err
			}
		}
	}
	mb, mn := median(bare), median(nodes)
	ratios := make([]float64, len(bare)) // per round: a drifting machine moves both of a pair alike
	for i := range bare {
		ratios[i] = nodes[i] / bare[i]
	}
	t.add("throughput, bare one-activity workflow", fmt.Sprintf("%.1f/s", mb), fmt.Sprintf("median of %d rounds of %d", o.rounds, o.nodes))
	t.add("throughput, HTTPNode (main request only)", fmt.Sprintf("%.1f/s", mn), fmt.Sprintf("ratio %.2f×, the median of the rounds' ratios (target ≥ 0.95×)", median(ratios)))
	fmt.Fprintf(os.Stderr, "  rounds: bare %.1f, node %.1f (/s)\n", bare, nodes)
	return nil
}

func historyEvents(ctx context.Context, c client.Client, o options, t *table) error {
	jobs := jobservice.New()
	url, err := serve(ctx, jobs.Handler())
	if err != nil {
		return err
	}
	wk, err := startWorker(o, "", "bench-events")
	if err != nil {
		return err
	}
	defer wk.stop()
	node := json.RawMessage(`{"request": {"method": "POST", "url": "` + url + `/jobs", "body": {"polls": 5}},
		"callback": {"url": "` + url + `/status", "interval": "1s"}, "retry": {"count": 0}}`)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprint("events-", time.Now().UnixNano()), TaskQueue: "bench-events"}, workflows.HTTPNodeName, node)
	if err != nil {
		return err
	}
	var res httpnode.Result
	if err := run.Get(ctx, &res); err != nil {
		return err
	}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var timers []int
	total := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return err
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			timers = append(timers, total)
		}
		total++
	}
	perPoll := 0
	if len(timers) >= 2 {
		perPoll = timers[len(timers)-1] - timers[len(timers)-2]
	}
	t.add("history events per poll", fmt.Sprint(perPoll), "target ≤ 6 (timer + activity polling: 11)")
	t.add("history events per node run", fmt.Sprint(total), fmt.Sprintf("%d polls", res.Polls))
	return nil
}

func requestCost(ctx context.Context, _ client.Client, _ options, t *table) error {
	url, err := serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"taskId": "job-1", "status": "PROCESSING"}`)
	}))
	if err != nil {
		return err
	}
	a := activities.New(nil, loopbackOnly)
	req, err := httpnode.Rendered{Request: httpnode.Node{Request: httpnode.Request{Method: "POST", URL: url + "/jobs"}}.WithDefaults().Request}.ForAttempt(1).Main()
	if err != nil {
		return err
	}
	in := activities.SendRequestInput{Request: req, IdempotencyKey: "k"}
	sendRequest := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.SendRequest(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	}
	bareDo := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// the same request, headers and per-try timeout as SendRequest's
			ctx, cancel := context.WithTimeout(context.Background(), httpnode.DefaultRequestTimeout)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/jobs", nil)
			req.Header.Set(activities.HeaderIdempotencyKey, "k")
			req.Header.Set("User-Agent", activities.UserAgent)
			resp, err := bareClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
		}
	}
	// paired rounds, the order alternating: a drifting machine moves both
	// of a pair alike, and the ratio is the median of the pairs'
	var node, bare testing.BenchmarkResult
	var ratios []float64
	for r := range 6 {
		if r%2 == 0 {
			node, bare = testing.Benchmark(sendRequest), testing.Benchmark(bareDo)
		} else {
			bare, node = testing.Benchmark(bareDo), testing.Benchmark(sendRequest)
		}
		ratios = append(ratios, float64(node.NsPerOp())/float64(bare.NsPerOp()))
	}
	t.add("SendRequest", fmt.Sprintf("%d ns/op, %d allocs/op", node.NsPerOp(), node.AllocsPerOp()), "the last round")
	t.add("bare http.Client.Do, same request", fmt.Sprintf("%d ns/op, %d allocs/op", bare.NsPerOp(), bare.AllocsPerOp()),
		fmt.Sprintf("SendRequest ratio %.2f×, the median of 6 paired rounds (target ≤ 1.25×)", median(ratios)))
	return nil
}

// waitingNodes starts n nodes whose jobs never finish, polling every
// interval, and returns once the job service has all n jobs.
func waitingNodes(ctx context.Context, c client.Client, jobs *jobservice.Service, url, taskQueue string, n int, interval string) error {
	node := json.RawMessage(`{"request": {"method": "POST", "url": "` + url + `/jobs", "body": {"seconds": 86400}},
		"callback": {"url": "` + url + `/status", "interval": "` + interval + `", "deadline": "48h"}, "retry": {"count": 0}}`)
	prefix := fmt.Sprint(taskQueue, "-", time.Now().UnixNano(), "-")
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: prefix + fmt.Sprint(i), TaskQueue: taskQueue}, workflows.HTTPNodeName, node); err != nil {
					firstErr.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	for jobs.Submissions() < int64(n) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func memory(ctx context.Context, c client.Client, o options, t *table) error {
	for i, n := range o.memory {
		waiting := func(tq string) error {
			jobs := jobservice.New() // one per worker: waitingNodes counts its submissions
			url, err := serve(ctx, jobs.Handler())
			if err != nil {
				return err
			}
			return waitingNodes(ctx, c, jobs, url, tq, n, "10m")
		}
		// with --compare, the other build's nodes first and this one's
		// after, or the other way round, by n: side by side in one run
		kinds := []struct{ name, bin string }{{"", ""}}
		if o.compare != "" {
			kinds = append(kinds, struct{ name, bin string }{"compared", o.compare})
			if i%2 == 1 {
				kinds[0], kinds[1] = kinds[1], kinds[0]
			}
		}
		for _, k := range kinds {
			m, err := usePerWorkflow(ctx, o, k.bin, fmt.Sprint("bench-memory-", k.name, n), n, waiting)
			if err != nil {
				return err
			}
			what := fmt.Sprintf("worker per waiting node, %d nodes", n)
			if k.bin != "" {
				what = fmt.Sprintf("worker per waiting node, %d nodes, %s", n, k.bin)
			}
			t.add(what, m.String(), "RSS target ≤ 40 KB")
		}
		bare, err := usePerWorkflow(ctx, o, "", fmt.Sprint("bench-memory-bare-", n), n, func(tq string) error {
			return waitingBare(ctx, c, tq, n)
		})
		if err != nil {
			return err
		}
		t.add(fmt.Sprintf("worker per waiting bare workflow (timer only), %d", n), bare.String(), "the SDK's floor")
	}
	return nil
}

// use is what a worker spends per workflow: RSS, heap and stack in KB.
type use struct{ rss, heap, stack float64 }

func (u use) String() string {
	return fmt.Sprintf("RSS %.1f KB (heap %.1f, stacks %.1f)", u.rss, u.heap, u.stack)
}

// usePerWorkflow starts a worker process (of bin, or this binary when
// empty), starts n waiting workflows with start, and returns the growth of
// the worker's use per workflow, each measured after a GC.
func usePerWorkflow(ctx context.Context, o options, bin, tq string, n int, start func(tq string) error) (use, error) {
	wk, err := startWorker(o, bin, tq)
	if err != nil {
		return use{}, err
	}
	defer wk.stop()
	time.Sleep(2 * time.Second) // settle before the baseline
	idle := wk.stats()
	if err := start(tq); err != nil {
		return use{}, err
	}
	// measured once every workflow waits in the worker's cache (each has a
	// goroutine), not when the last start returned
	busy := wk.stats()
	for deadline := time.Now().Add(time.Minute); busy.goroutines-idle.goroutines < int64(n) && time.Now().Before(deadline); busy = wk.stats() {
		time.Sleep(500 * time.Millisecond)
	}
	if got := busy.goroutines - idle.goroutines; got < int64(n) {
		return use{}, fmt.Errorf("%s: %d of %d workflows waiting in the worker after a minute", tq, got, n)
	}
	fmt.Fprintf(os.Stderr, "  %s: %d MB with %d workflows (idle %d MB)\n", tq, busy.rss/1024, n, idle.rss/1024)
	per := func(b, i int64) float64 { return float64(b-i) / float64(n) }
	return use{rss: per(busy.rss, idle.rss), heap: per(busy.heap, idle.heap) / 1024, stack: per(busy.stack, idle.stack) / 1024}, nil
}

// waitingBare starts n BareWait workflows and returns once all have run
// their first workflow task.
func waitingBare(ctx context.Context, c client.Client, taskQueue string, n int) error {
	prefix := fmt.Sprint(taskQueue, "-", time.Now().UnixNano(), "-")
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				id := prefix + fmt.Sprint(i)
				if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, "BareWait"); err != nil {
					firstErr.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	// the last one started has run its first task once it has a timer
	last := prefix + fmt.Sprint(n-1)
	for {
		d, err := c.DescribeWorkflowExecution(ctx, last, "")
		if err == nil && d.GetWorkflowExecutionInfo().GetHistoryLength() >= 5 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func lateness(ctx context.Context, c client.Client, o options, t *table) error {
	if o.lateness <= 0 {
		return nil
	}
	var mu sync.Mutex
	last := map[string]time.Time{}
	var late []time.Duration
	watching := atomic.Bool{}
	jobs := jobservice.New()
	jobs.OnPoll = func(id string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[id]; ok && watching.Load() {
			late = append(late, at.Sub(prev)-10*time.Second)
		}
		last[id] = at
	}
	url, err := serve(ctx, jobs.Handler())
	if err != nil {
		return err
	}
	wk, err := startWorker(o, "", "bench-lateness")
	if err != nil {
		return err
	}
	defer wk.stop()
	if err := waitingNodes(ctx, c, jobs, url, "bench-lateness", o.lateness, "10s"); err != nil {
		return err
	}
	time.Sleep(15 * time.Second) // every node is in its polling rhythm
	watching.Store(true)
	time.Sleep(o.latenessFor)
	watching.Store(false)
	mu.Lock()
	defer mu.Unlock()
	if len(late) == 0 {
		t.add("poll lateness", "no polls seen", "")
		return nil
	}
	slices.Sort(late)
	p := func(q float64) time.Duration { return late[int(q*float64(len(late)-1))].Round(time.Millisecond) }
	t.add(fmt.Sprintf("poll lateness, %d nodes every 10s", o.lateness), fmt.Sprintf("p50 %s, p99 %s", p(0.5), p(0.99)),
		fmt.Sprintf("%d polls over %s", len(late), o.latenessFor))
	return nil
}

// median is the middle of v, or the mean of its two middles.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
