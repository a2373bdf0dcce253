package integration

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/httpnode"
)

// runFlow starts a flow on the fixture's queue and returns its result,
// from the failure's details when it failed.
func runFlow(t *testing.T, f *fixture, id, doc string) (httpnode.FlowResult, client.WorkflowRun) {
	t.Helper()
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue, WorkflowExecutionTimeout: 2 * time.Minute},
		httpnode.FlowWorkflow, json.RawMessage(doc))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res httpnode.FlowResult
	if err := run.Get(ctx, &res); err != nil {
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.NoError(t, app.Details(&res))
	}
	return res, run
}

// concurrency is a loopback API that counts the requests in flight: each
// answers after hold, with {"n": <its number>}; a request to /gather waits
// until gather requests are in flight (at most 20s), so that the most in
// flight does not depend on how fast the children start.
type concurrency struct {
	mu            sync.Mutex
	now, most, n  int
	hold          time.Duration
	gather        int
	srv           *httptest.Server
	cancels, hits atomic.Int64
}

func newConcurrency(t *testing.T, hold time.Duration) *concurrency {
	c := &concurrency{hold: hold}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		switch {
		case r.Method == http.MethodDelete:
			c.cancels.Add(1)
			return
		case strings.HasPrefix(r.URL.Path, "/fail"):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error": "refused"}`)
			return
		case r.URL.Path == "/job":
			fmt.Fprint(w, `{"taskId": "t1"}`)
			return
		case strings.HasPrefix(r.URL.Path, "/status/"):
			fmt.Fprint(w, `{"status": "PROCESSING"}`) // for ever
			return
		case strings.HasPrefix(r.URL.Path, "/slow"):
			select { // until the node is cancelled
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		}
		c.mu.Lock()
		c.now++
		c.n++
		n := c.n
		c.most = max(c.most, c.now)
		c.mu.Unlock()
		time.Sleep(c.hold)
		for until := time.Now().Add(20 * time.Second); r.URL.Path == "/gather" && time.Now().Before(until); time.Sleep(5 * time.Millisecond) {
			c.mu.Lock()
			enough := c.most >= c.gather
			c.mu.Unlock()
			if enough {
				break
			}
		}
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
		fmt.Fprintf(w, `{"n": %d}`, n)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// A fan-out of 12 nodes runs at most maxParallel (3) at once, every node
// as a child workflow <flow id>/<node id>; the fan-in sees every output.
func TestFlow_FanOutIsBoundedByMaxParallel(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	api.gather = 3 // the first three wait for each other: the bound is reached, whatever the machine's speed
	var nodes, refs []string
	for i := range 12 {
		nodes = append(nodes, fmt.Sprintf(`{"id": "n%d", "node": {"request": {"url": %q}, "outputs": {"n": "body.n"}, "retry": {"count": 0}}}`, i, api.srv.URL+"/gather"))
		refs = append(refs, fmt.Sprintf(`"${nodes.n%d.outputs.n}"`, i))
	}
	var needs []string
	for i := range 12 {
		needs = append(needs, fmt.Sprintf(`"n%d"`, i))
	}
	nodes = append(nodes, fmt.Sprintf(`{"id": "join", "needs": [%s], "node": {"request": {"method": "POST", "url": %q, "body": {"all": [%s]}}, "retry": {"count": 0}}}`,
		strings.Join(needs, ","), api.srv.URL+"/work", strings.Join(refs, ",")))
	res, run := runFlow(t, f, "flow-fan-out-"+t.Name(), `{"name": "fan", "maxParallel": 3, "nodes": [`+strings.Join(nodes, ",")+`]}`)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 3, api.most, "at most maxParallel nodes at once")
	require.EqualValues(t, 13, api.hits.Load())
	require.Equal(t, run.GetID()+"/join", res.Node("join").WorkflowID)
	// the fan-in's request carried the 12 numbers as numbers
	var child httpnode.Result
	require.NoError(t, f.c.GetWorkflow(context.Background(), run.GetID()+"/join", "").Get(context.Background(), &child))
	require.Equal(t, httpnode.StatusSucceeded, child.Status)
	hist := payloadText(f.history(t, f.c.GetWorkflow(context.Background(), run.GetID()+"/join", "")))
	require.Contains(t, hist, `"nodes.n0.outputs.n":`, "what the node was given is in its input")
	record(t, "flow_fan_out.json", f.history(t, run))
}

// With abort, a failed node ends the flow FAILED: running nodes are
// cancelled (their cancel requests fire), nodes not started are NOT_RUN.
func TestFlow_AbortCancelsRunningNodes(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 500*time.Millisecond) // the gate holds: slow is waiting on its job when bad fails
	doc := fmt.Sprintf(`{"nodes": [
		{"id": "slow", "node": {"request": {"url": %[1]q}, "callback": {"url": %[5]q, "interval": "1s"},
			"cancel": {"method": "DELETE", "url": %[2]q}, "retry": {"count": 0}}},
		{"id": "gate", "needs": [], "node": {"request": {"url": %[3]q}, "retry": {"count": 0}}},
		{"id": "bad", "needs": ["gate"], "node": {"request": {"url": %[4]q}, "retry": {"count": 0}}},
		{"id": "after", "needs": ["bad"], "node": {"request": {"url": %[3]q}, "retry": {"count": 0}}}]}`,
		api.srv.URL+"/job", api.srv.URL+"/jobs/${taskId}", api.srv.URL+"/work", api.srv.URL+"/fail", api.srv.URL+"/status")
	res, _ := runFlow(t, f, "flow-abort-"+t.Name(), doc)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrHTTPStatus, res.Error.Type)
	require.Contains(t, res.Error.Message, "node bad failed")
	require.Equal(t, httpnode.StatusFailed, res.Node("bad").Status)
	require.Equal(t, httpnode.StatusCancelled, res.Node("slow").Status)
	require.Equal(t, httpnode.StatusNotRun, res.Node("after").Status)
	require.EqualValues(t, 1, api.cancels.Load(), "the cancelled node called its cancel request once")
}

// A flow's timeout cancels what runs and ends it TIMED_OUT.
func TestFlow_Timeout(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	res, _ := runFlow(t, f, "flow-timeout-"+t.Name(), fmt.Sprintf(`{"timeout": "2s", "nodes": [
		{"id": "slow", "node": {"request": {"url": %q, "timeout": "2m"}, "retry": {"count": 0}}},
		{"id": "next", "needs": ["slow"], "node": {"request": {"url": %q}}}]}`, api.srv.URL+"/slow", api.srv.URL+"/work"))
	require.Equal(t, httpnode.StatusTimedOut, res.Status)
	require.Equal(t, httpnode.StatusCancelled, res.Node("slow").Status)
	require.Equal(t, httpnode.StatusNotRun, res.Node("next").Status)
}

// A node whose URL needs a failed node's data is SKIPPED under continue,
// with the reason; the flow ends PARTIAL.
func TestFlow_ContinueSkipsANodeWhoseURLNeedsMissingData(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	res, run := runFlow(t, f, "flow-skip-"+t.Name(), fmt.Sprintf(`{"onFailure": "continue", "nodes": [
		{"id": "bad", "node": {"request": {"url": %q}, "outputs": {"id": "body.id"}, "retry": {"count": 0}}},
		{"id": "use", "needs": ["bad"], "node": {"request": {"url": "%s/${nodes.bad.outputs.id}"}}},
		{"id": "status", "needs": ["bad"], "node": {"request": {"url": "%s/work", "query": {"was": "${nodes.bad.status}"}}}},
		{"id": "alert", "needs": ["bad"], "when": "nodes.bad.status == 'FAILED'", "node": {"request": {"url": "%s/work"}}},
		{"id": "cheer", "needs": ["bad"], "when": "nodes.bad.status == 'SUCCEEDED'", "node": {"request": {"url": "%s/work"}}}]}`,
		api.srv.URL+"/fail", api.srv.URL, api.srv.URL, api.srv.URL, api.srv.URL))
	require.Equal(t, httpnode.StatusPartial, res.Status)
	require.Equal(t, httpnode.StatusSkipped, res.Node("use").Status)
	require.Equal(t, "request.url needs data that an upstream node does not have (it failed or was skipped)", res.Node("use").Reason)
	require.Equal(t, httpnode.StatusSucceeded, res.Node("status").Status, "a failed node's status is known")
	require.Equal(t, httpnode.StatusSucceeded, res.Node("alert").Status)
	require.Equal(t, httpnode.StatusSkipped, res.Node("cheer").Status)
	record(t, "flow_continue.json", f.history(t, run))
}

// A flow started with a broken expression sends nothing and fails
// InvalidFlow, naming the field.
func TestFlow_BrokenExpressionSendsNothing(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "flow-broken-" + t.Name(), TaskQueue: f.taskQueue},
		httpnode.FlowWorkflow, json.RawMessage(fmt.Sprintf(`{"nodes": [{"id": "a", "node": {"request": {"url": %q}}},
			{"id": "b", "needs": ["a"], "when": "nodes.a.status ==", "node": {"request": {"url": %q}}}]}`, api.srv.URL+"/work", api.srv.URL+"/work")))
	require.NoError(t, err)
	err = run.Get(context.Background(), nil)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, httpnode.ErrInvalidFlow, app.Type())
	require.Contains(t, app.Message(), "nodes[1].when")
	require.Zero(t, api.hits.Load())
}

// A parent workflow runs a flow as its child with the typed API and reads
// a node's output.
func TestFlow_FromAParentWorkflow(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	pw := worker.New(f.c, f.taskQueue+"-parents", worker.Options{})
	pw.RegisterWorkflow(flowParent)
	require.NoError(t, pw.Start())
	t.Cleanup(pw.Stop)
	flow := httpnode.Flow{Name: "typed", Nodes: []httpnode.FlowNode{
		{ID: "a", Node: httpnode.Node{Request: httpnode.Request{URL: api.srv.URL + "/work"}, Outputs: map[string]string{"n": "body.n"}}},
		{ID: "b", Needs: []string{"a"}, Node: httpnode.Node{Request: httpnode.Request{Method: "POST", URL: api.srv.URL + "/work",
			Body: json.RawMessage(`{"after": "${nodes.a.outputs.n}"}`)}, Outputs: map[string]string{"n": "body.n"}}},
	}}
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "flow-parent-" + t.Name(), TaskQueue: f.taskQueue + "-parents"}, flowParent, f.taskQueue, flow)
	require.NoError(t, err)
	var n int
	require.NoError(t, run.Get(context.Background(), &n))
	require.Equal(t, 2, n)
}

// flowParent runs a flow as a child workflow and returns node b's output n.
func flowParent(ctx workflow.Context, queue string, flow httpnode.Flow) (int, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{TaskQueue: queue})
	var res httpnode.FlowResult
	if err := workflow.ExecuteChildWorkflow(ctx, httpnode.FlowWorkflow, flow).Get(ctx, &res); err != nil {
		return 0, err
	}
	var n int
	err := res.Node("b").Output("n", &n)
	return n, err
}

// Notifications in a flow: a node's carries the flow's run in its workflow
// block; the flow's notify sends one document with every node, its
// secret sent to the bound host and never in history; the flow's current
// details in Temporal Web are the nodes' table.
func TestFlow_NotificationsAndCurrentDetails(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	api := newConcurrency(t, 0)
	sink := newNotifySink(t, 0)
	res, run := runFlow(t, f, "flow-notify-"+t.Name(), fmt.Sprintf(`{"name": "notified", "onFailure": "continue",
		"notify": {"url": "%s/flow", "headers": {"Authorization": "Bearer ${secret.JOB_TOKEN}"}, "userData": "u-1"},
		"nodes": [
		{"id": "a", "node": {"name": "first", "request": {"url": "%s/work"}, "notify": {"url": "%s/node", "format": "xml"}}},
		{"id": "b", "needs": ["a"], "node": {"request": {"url": "%s/fail"}, "retry": {"count": 0}}},
		{"id": "c", "needs": ["b"], "when": "nodes.b.status == 'SUCCEEDED'", "node": {"request": {"url": "%s/work"}}}]}`,
		sink.srv.URL, api.srv.URL, sink.srv.URL, api.srv.URL, api.srv.URL))
	require.Equal(t, httpnode.StatusPartial, res.Status)
	require.Equal(t, httpnode.CallSent, res.Notification.Status)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	require.Len(t, sink.got, 2)
	require.Equal(t, "/node", sink.got[0].URL.Path)
	var node httpnode.TaskFinish
	require.NoError(t, xml.Unmarshal(sink.bodies[0], &node))
	require.Equal(t, httpnode.TaskFinishRunInfo{RunID: run.GetRunID(), WorkflowID: run.GetID(), WorkflowType: httpnode.FlowWorkflow,
		WorkflowName: "notified", Name: "a", NodeName: "first"}, node.Workflow)
	require.Equal(t, run.GetID()+"/a", node.JobsDetail.JobID)

	require.Equal(t, "/flow", sink.got[1].URL.Path)
	require.Equal(t, "Bearer "+jobToken, sink.got[1].Header.Get("Authorization"))
	var flow httpnode.FlowFinish
	require.NoError(t, json.Unmarshal(sink.bodies[1], &flow))
	require.Equal(t, "Partial", flow.State)
	require.Equal(t, "u-1", flow.UserData)
	require.Equal(t, run.GetID(), flow.Workflow.WorkflowID)
	require.Len(t, flow.JobsDetail, 3)
	require.Equal(t, []string{"Success", "Failed", "Skipped"}, []string{flow.JobsDetail[0].State, flow.JobsDetail[1].State, flow.JobsDetail[2].State})
	require.Equal(t, run.GetID()+"/b", flow.JobsDetail[1].JobID)
	hist := f.history(t, run)
	require.NotContains(t, payloadText(hist), jobToken)
	record(t, "flow_notify.json", hist)

	details := currentDetails(t, f, run.GetID(), run.GetRunID())
	require.Contains(t, details, "**notified** · PARTIAL · 3 of 3 nodes ended")
	require.Contains(t, details, "| a | SUCCEEDED | 1 |")
	require.Contains(t, details, "| b | FAILED | 1 |  | ")
	require.Contains(t, details, "| c | SKIPPED |")
	require.Equal(t, "node a · GET "+strings.TrimPrefix(api.srv.URL, "http://")+"/work", staticSummary(t, f, run.GetID()+"/a"), "each child's summary")
}
