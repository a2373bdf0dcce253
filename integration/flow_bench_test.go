package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/httpnode/httpnode/httpnode"
)

// The in-process server's thresholds for suggesting continue-as-new: the
// server defaults, which temporaltest does not override (it sets only
// ForceSearchAttributesCacheRefreshOnRead). See go.temporal.io/server@v1.32.1
// common/dynamicconfig/constants.go: limit.historyCount.suggestContinueAsNew
// (HistoryCountSuggestContinueAsNew, 4*1024, line 483) and
// limit.historySize.suggestContinueAsNew (HistorySizeSuggestContinueAsNew,
// 4*1024*1024, line 441).
const (
	benchSuggestCANEvents = 4 * 1024
	benchSuggestCANBytes  = 4 * 1024 * 1024
)

// benchRound is how long one flow or one batch of workflows may take.
const benchRound = 2 * time.Minute

// benchEnv is the fixture's worker on a task queue of its own and a
// loopback API that answers every request 200 {"ok":true} at once.
type benchEnv struct {
	*fixture
	url  string
	hits atomic.Int64
	// tag makes workflow ids unique across runs of the benchmark against
	// the one server of the package.
	tag string
}

func newBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	e := &benchEnv{fixture: newFixture(tb), tag: fmt.Sprint(time.Now().UnixNano())}
	e.startWorker(tb)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	tb.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// node is node i: a plain GET to the loopback API.
func (e *benchEnv) node(i int) string {
	return fmt.Sprintf(`{"request": {"method": "GET", "url": "%s/n%d"}}`, e.url, i)
}

// fanOut is a flow of n nodes that need nothing, so that all may run at
// once up to maxParallel: the same work as n independent workflows, with
// no fan-in that the independent workflows would not have.
func (e *benchEnv) fanOut(n, maxParallel int) string {
	nodes := make([]string, n)
	for i := range n {
		nodes[i] = fmt.Sprintf(`{"id": "n%d", "node": %s}`, i, e.node(i))
	}
	return fmt.Sprintf(`{"name": "bench-fan-out", "maxParallel": %d, "nodes": [%s]}`, maxParallel, strings.Join(nodes, ","))
}

// runFlow runs doc as a Flow workflow with id and fails tb unless it
// SUCCEEDED with n nodes, each SUCCEEDED; it returns the run.
func (e *benchEnv) runFlow(tb testing.TB, id, doc string, n int) client.WorkflowRun {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchRound)
	defer cancel()
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: e.taskQueue, WorkflowExecutionTimeout: benchRound},
		httpnode.FlowWorkflow, json.RawMessage(doc))
	if err != nil {
		tb.Fatalf("start flow %s: %v", id, err)
	}
	var res httpnode.FlowResult
	if err := run.Get(ctx, &res); err != nil {
		tb.Fatalf("flow %s: %v", id, err)
	}
	if res.Status != httpnode.StatusSucceeded || len(res.Nodes) != n {
		tb.Fatalf("flow %s: status %s with %d nodes, want %s with %d", id, res.Status, len(res.Nodes), httpnode.StatusSucceeded, n)
	}
	for _, nr := range res.Nodes {
		if nr.Status != httpnode.StatusSucceeded {
			tb.Fatalf("flow %s: node %s is %s, want %s", id, nr.ID, nr.Status, httpnode.StatusSucceeded)
		}
	}
	return run
}

// runIndependent starts n HTTPNode workflows (at once, each from its own
// goroutine: the fastest a client can start them), then waits for every
// one; it fails tb unless each SUCCEEDED. It returns how long the starts
// took.
func (e *benchEnv) runIndependent(tb testing.TB, prefix string, n int) (starting time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchRound)
	defer cancel()
	t0 := time.Now()
	runs := make([]client.WorkflowRun, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			runs[i], errs[i] = e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("%s/n%d", prefix, i), TaskQueue: e.taskQueue, WorkflowExecutionTimeout: benchRound,
			}, httpnode.NodeWorkflow, json.RawMessage(e.node(i)))
		})
	}
	wg.Wait()
	starting = time.Since(t0)
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("start node %d: %v", i, err)
		}
	}
	for i, run := range runs {
		var res httpnode.Result
		if err := run.Get(ctx, &res); err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
		if res.Status != httpnode.StatusSucceeded {
			tb.Fatalf("node %d: status %s, want %s", i, res.Status, httpnode.StatusSucceeded)
		}
	}
	return starting
}

// workflowTasks is how many workflow tasks h started.
func workflowTasks(h *historypb.History) int {
	n := 0
	for _, ev := range h.GetEvents() {
		if ev.GetWorkflowTaskStartedEventAttributes() != nil {
			n++
		}
	}
	return n
}

// suggestedCAN reports whether a workflow task of h was started with
// Temporal's suggestion to continue as new, and the history size the
// server counted at its last workflow task.
func suggestedCAN(h *historypb.History) (suggested bool, serverBytes int64) {
	for _, ev := range h.GetEvents() {
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
			suggested = suggested || a.GetSuggestContinueAsNew()
			serverBytes = a.GetHistorySizeBytes()
		}
	}
	return suggested, serverBytes
}

// BenchmarkFlowFanOut runs, in paired rounds, a Flow of 100 nodes that need
// nothing (maxParallel 100, so all may run at once) and the same 100 nodes
// as independent HTTPNode workflows, alternating which goes first. Each
// node is a GET answered at once, so what is measured is the cost of
// orchestration: the flow's children started and ended through one
// parent's history against 100 workflows started by the client.
//
// Metrics: flow-s/op and independent-s/op (mean wall times), ratio
// (flow/independent, of the sums), independent-start-s/op (the client's
// 100 starts alone), parent-events/node (the flow's history length / 100),
// parent-workflow-tasks/node (the flow's workflow tasks / 100: work that
// the independent workflows do not have).
func BenchmarkFlowFanOut(b *testing.B) {
	const n = 100
	e := newBenchEnv(b)
	doc := e.fanOut(n, httpnode.MaxFlowParallel)
	// one uncounted pair: the first workflows of a task queue pay for the
	// worker's pollers and caches warming up
	e.runFlow(b, "bench-flow-warm-"+e.tag, doc, n)
	e.runIndependent(b, "bench-nodes-warm-"+e.tag, n)

	var flowWall, indWall, indStart time.Duration
	var events, tasks int
	rounds := 0
	for b.Loop() {
		flowID, nodesID := fmt.Sprintf("bench-flow-%s-%d", e.tag, rounds), fmt.Sprintf("bench-nodes-%s-%d", e.tag, rounds)
		var run client.WorkflowRun
		flow := func() {
			t0 := time.Now()
			run = e.runFlow(b, flowID, doc, n)
			flowWall += time.Since(t0)
		}
		independent := func() {
			t0 := time.Now()
			indStart += e.runIndependent(b, nodesID, n)
			indWall += time.Since(t0)
		}
		if rounds%2 == 0 {
			flow()
			independent()
		} else {
			independent()
			flow()
		}
		b.StopTimer()
		h := e.history(b, run)
		events += len(h.GetEvents())
		tasks += workflowTasks(h)
		b.StartTimer()
		rounds++
	}
	if got, want := e.hits.Load(), int64(2*n*(rounds+1)); got != want {
		b.Fatalf("the API was called %d times, want %d", got, want)
	}
	r := float64(rounds)
	b.ReportMetric(flowWall.Seconds()/r, "flow-s/op")
	b.ReportMetric(indWall.Seconds()/r, "independent-s/op")
	b.ReportMetric(indStart.Seconds()/r, "independent-start-s/op")
	b.ReportMetric(flowWall.Seconds()/indWall.Seconds(), "ratio")
	b.ReportMetric(float64(events)/r/n, "parent-events/node")
	b.ReportMetric(float64(tasks)/r/n, "parent-workflow-tasks/node")
}

// BenchmarkFlow500 runs one Flow of httpnode.MaxFlowNodes (500) nodes that
// need nothing, at most httpnode.MaxFlowParallel (100) at once, and reports
// the size of the parent's history against the thresholds at which the
// in-process server suggests continue-as-new (benchSuggestCANEvents,
// benchSuggestCANBytes).
//
// Metrics: flow-s/op, parent-events, parent-history-bytes (proto.Size of
// the history as read by the client), server-history-bytes (the size the
// server counted at the last workflow task, which is what it compares with
// its limit), events/node, bytes/node, events-of-suggestion-limit and
// bytes-of-suggestion-limit (fractions of the thresholds), suggested-can
// (1 if a workflow task was started with the suggestion, else 0).
func BenchmarkFlow500(b *testing.B) {
	const n = httpnode.MaxFlowNodes
	e := newBenchEnv(b)
	doc := e.fanOut(n, httpnode.MaxFlowParallel)
	var wall time.Duration
	var events, bytes, serverBytes int64
	var suggested bool
	rounds := 0
	for b.Loop() {
		t0 := time.Now()
		run := e.runFlow(b, fmt.Sprintf("bench-flow500-%s-%d", e.tag, rounds), doc, n)
		wall += time.Since(t0)
		b.StopTimer()
		h := e.history(b, run)
		events, bytes = int64(len(h.GetEvents())), int64(proto.Size(h))
		var s bool
		s, serverBytes = suggestedCAN(h)
		suggested = suggested || s
		b.StartTimer()
		rounds++
	}
	if got, want := e.hits.Load(), int64(n*rounds); got != want {
		b.Fatalf("the API was called %d times, want %d", got, want)
	}
	b.ReportMetric(wall.Seconds()/float64(rounds), "flow-s/op")
	b.ReportMetric(float64(events), "parent-events")
	b.ReportMetric(float64(bytes), "parent-history-bytes")
	b.ReportMetric(float64(serverBytes), "server-history-bytes")
	b.ReportMetric(float64(events)/n, "events/node")
	b.ReportMetric(float64(bytes)/n, "bytes/node")
	b.ReportMetric(float64(events)/benchSuggestCANEvents, "events-of-suggestion-limit")
	b.ReportMetric(float64(max(bytes, serverBytes))/benchSuggestCANBytes, "bytes-of-suggestion-limit")
	can := 0.0
	if suggested {
		can = 1
	}
	b.ReportMetric(can, "suggested-can")
}
