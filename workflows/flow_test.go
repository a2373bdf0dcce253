package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// fakeNodes is an HTTPNode stand-in for the Flow workflow's tests, on the
// test environment's clock. A node's URL says what it does:
// http://n.test/<name>?sleep=10m&fail=1 sleeps, then fails or succeeds with
// the output v = "<name>"; it records what it was given and what ran at once.
type fakeNodes struct {
	now, most int
	started   []string
	inputs    map[string]httpnode.Node
	cancelled []string
}

func (fk *fakeNodes) run(ctx workflow.Context, n httpnode.Node) (*httpnode.Result, error) {
	u, _ := url.Parse(n.Request.URL)
	name := u.Path[1:]
	fk.started, fk.inputs[name] = append(fk.started, name), n
	fk.now++
	fk.most = max(fk.most, fk.now)
	defer func() { fk.now-- }()
	d, _ := time.ParseDuration(u.Query().Get("sleep"))
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, d); err != nil {
		fk.cancelled = append(fk.cancelled, name)
		return nil, temporal.NewCanceledError()
	}
	res := httpnode.Result{Status: httpnode.StatusSucceeded, Name: name, Attempts: 1, StartTime: start, EndTime: workflow.Now(ctx),
		SkippedFields: n.SkippedFields, Response: &httpnode.Response{StatusCode: 200}}
	if u.Query().Get("fail") != "" {
		res.Status, res.Error = httpnode.StatusFailed, &httpnode.Error{Type: httpnode.ErrHTTPStatus, Message: "500 from " + name}
		if n.OnFailure != httpnode.OnFailureContinue {
			return nil, temporal.NewNonRetryableApplicationError(res.Error.Message, res.Error.Type, nil, res)
		}
		return &res, nil
	}
	res.Outputs = map[string]json.RawMessage{"v": json.RawMessage(fmt.Sprintf("%q", name))}
	return &res, nil
}

func newFlowEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fakeNodes) {
	t.Helper()
	env := newBareEnv(t)
	fk := &fakeNodes{inputs: map[string]httpnode.Node{}}
	env.RegisterWorkflowWithOptions(fk.run, workflow.RegisterOptions{Name: HTTPNodeName})
	env.RegisterWorkflowWithOptions(Flow, workflow.RegisterOptions{Name: FlowName})
	return env, fk
}

// flowResult is the flow's result: returned, or in its failure's details.
func flowResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) httpnode.FlowResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var res httpnode.FlowResult
	if err := env.GetWorkflowError(); err != nil {
		r := httpnode.FlowResultOf(err)
		require.NotNil(t, r, "%v", err)
		return *r
	}
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func fnode(id, query string, needs ...string) httpnode.FlowNode {
	return httpnode.FlowNode{ID: id, Needs: needs, Node: httpnode.Node{Request: httpnode.Request{URL: "http://n.test/" + id + "?" + query}}}
}

// Six 10-minute nodes under maxParallel 2 run two at a time, in the
// document's order; the fan-in starts once all have ended and reads them.
func TestFlow_OrderAndParallelismBound(t *testing.T) {
	env, fk := newFlowEnv(t)
	f := httpnode.Flow{MaxParallel: 2}
	var all []string
	for i := range 6 {
		id := fmt.Sprintf("n%d", i)
		f.Nodes, all = append(f.Nodes, fnode(id, "sleep=10m")), append(all, id)
	}
	in := fnode("in", "", all...)
	in.Node.Request.Query = map[string]string{"first": "${nodes.n0.outputs.v}", "last": "${nodes.n5.outputs.v}"}
	f.Nodes = append(f.Nodes, in)
	env.ExecuteWorkflow(FlowName, f)
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, fk.most, "at most maxParallel nodes ran at once")
	for i := 1; i < len(f.Nodes); i++ {
		require.False(t, res.Nodes[i].StartTime.Before(*res.Nodes[i-1].StartTime), "nodes start in the document's order")
	}
	require.Equal(t, 30*time.Minute, res.Node("in").StartTime.Sub(res.StartTime), "three rounds of two, then the fan-in")
	require.JSONEq(t, `{"nodes.n0.outputs.v": "n0", "nodes.n5.outputs.v": "n5"}`, string(mustJSON(t, fk.inputs["in"].Refs)))
	require.True(t, strings.HasSuffix(res.Node("in").WorkflowID, "/in"), res.Node("in").WorkflowID)
}

// abort: a failed node ends the flow FAILED, the running node is cancelled
// and the node that needs the failed one is NOT_RUN.
func TestFlow_AbortCancelsRunningNodes(t *testing.T) {
	env, fk := newFlowEnv(t)
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Nodes: []httpnode.FlowNode{
		fnode("bad", "sleep=1m&fail=1"), fnode("long", "sleep=5h"), fnode("after", "", "bad"),
	}})
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrHTTPStatus, res.Error.Type)
	require.Equal(t, httpnode.StatusFailed, res.Node("bad").Status)
	require.Equal(t, httpnode.StatusCancelled, res.Node("long").Status)
	require.Equal(t, httpnode.StatusNotRun, res.Node("after").Status)
	require.Equal(t, []string{"long"}, fk.cancelled)
	require.Less(t, res.EndTime.Sub(res.StartTime), time.Hour, "the flow did not wait for the long node")
}

// continue: a later node runs with the fields that use the failed node's
// data left out (listed), the others sent; a false when skips; PARTIAL.
func TestFlow_ContinueLeavesOutDependentFields(t *testing.T) {
	env, fk := newFlowEnv(t)
	use := fnode("use", "", "bad", "good")
	use.Node.Request.Query = map[string]string{"bad": "${nodes.bad.outputs.v}", "good": "${nodes.good.outputs.v}", "was": "${nodes.bad.status}"}
	alert := fnode("cheer", "", "bad")
	alert.When = "nodes.bad.status == 'SUCCEEDED'"
	env.ExecuteWorkflow(FlowName, httpnode.Flow{OnFailure: httpnode.OnFailureContinue, Nodes: []httpnode.FlowNode{
		fnode("bad", "fail=1"), fnode("good", ""), use, alert,
	}})
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusPartial, res.Status)
	require.Equal(t, []string{"request.query.bad"}, res.Node("use").SkippedFields)
	sent := fk.inputs["use"]
	require.NotContains(t, sent.Request.Query, "bad")
	require.Equal(t, "${nodes.good.outputs.v}", sent.Request.Query["good"])
	require.JSONEq(t, `{"nodes.good.outputs.v": "good", "nodes.bad.status": "FAILED"}`, string(mustJSON(t, sent.Refs)))
	require.Equal(t, httpnode.StatusSkipped, res.Node("cheer").Status)
	require.NotContains(t, fk.started, "cheer", "a false when starts no child")
	require.Equal(t, &httpnode.InFlow{Node: "use"}, sent.InFlow)
}

// The flow's timeout cancels its running nodes and ends it TIMED_OUT; a
// cancelled flow cancels its nodes and ends CANCELLED.
func TestFlow_TimeoutAndCancel(t *testing.T) {
	env, fk := newFlowEnv(t)
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Timeout: httpnode.Duration(30 * time.Minute), Nodes: []httpnode.FlowNode{
		fnode("slow", "sleep=2h"), fnode("next", "", "slow"),
	}})
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusTimedOut, res.Status)
	require.Equal(t, httpnode.StatusCancelled, res.Node("slow").Status)
	require.Equal(t, httpnode.StatusNotRun, res.Node("next").Status)
	require.Equal(t, []string{"slow"}, fk.cancelled)

	env, fk = newFlowEnv(t)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Nodes: []httpnode.FlowNode{fnode("slow", "sleep=2h"), fnode("next", "", "slow")}})
	res = flowResult(t, env)
	require.Equal(t, httpnode.StatusCancelled, res.Status)
	require.Equal(t, []string{"slow"}, fk.cancelled)
	require.Equal(t, httpnode.StatusNotRun, res.Node("next").Status)
}

// A rerun ends the reused nodes at once with their recorded results (no
// child runs for them) and runs the others with the reused data.
func TestFlow_RerunReusesRecordedResults(t *testing.T) {
	env, fk := newFlowEnv(t)
	b := fnode("b", "", "a")
	b.Node.Request.Query = map[string]string{"a": "${nodes.a.outputs.v}"}
	recorded := &httpnode.Result{Status: httpnode.StatusSucceeded, Attempts: 1, Outputs: map[string]json.RawMessage{"v": json.RawMessage(`"from-the-first-run"`)}}
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Nodes: []httpnode.FlowNode{fnode("a", ""), b},
		Rerun: &httpnode.FlowRerun{Of: httpnode.FlowRunRef{WorkflowID: "old", RunID: "r1"}, From: "b",
			Reuse: map[string]httpnode.ReusedNode{"a": {Status: httpnode.StatusSucceeded, WorkflowID: "old/a", Result: recorded}}}})
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, []string{"b"}, fk.started, "no child ran for the reused node")
	require.True(t, res.Node("a").Reused)
	require.Equal(t, "old/a", res.Node("a").WorkflowID)
	require.JSONEq(t, `{"nodes.a.outputs.v": "from-the-first-run"}`, string(mustJSON(t, fk.inputs["b"].Refs)))
	require.Equal(t, "old", res.RerunOf.WorkflowID)

	// a rerun that would reuse the node it reruns from is refused
	env, fk = newFlowEnv(t)
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Nodes: []httpnode.FlowNode{fnode("a", ""), b},
		Rerun: &httpnode.FlowRerun{Of: httpnode.FlowRunRef{WorkflowID: "old"}, From: "a",
			Reuse: map[string]httpnode.ReusedNode{"b": {Status: httpnode.StatusSucceeded}}}})
	require.ErrorContains(t, env.GetWorkflowError(), "rerun.reuse.b: runs again (it is a or downstream of it): it cannot be reused")
	require.Empty(t, fk.started)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// A flow's notify sends one TaskFinish for the flow, a JobsDetail entry
// per node in the document's order; the flow's result says it was sent.
func TestFlow_NotifySendsOneDocumentForTheFlow(t *testing.T) {
	env, _ := newFlowEnv(t)
	var got []activities.NotifyInput
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) (activities.NotifyOutput, error) {
		got = append(got, in)
		return activities.NotifyOutput{StatusCode: 204}, nil
	})
	skip := fnode("skip", "", "bad")
	skip.When = "nodes.bad.status == 'SUCCEEDED'"
	env.ExecuteWorkflow(FlowName, httpnode.Flow{Name: "nightly", OnFailure: httpnode.OnFailureContinue,
		Notify: &httpnode.Notify{Request: httpnode.Request{URL: "http://hooks.test/${region}"}, UserData: "u-1", Tags: map[string]string{"team": "data"}},
		Params: map[string]string{"region": "eu"},
		Nodes:  []httpnode.FlowNode{fnode("good", ""), fnode("bad", "fail=1"), skip}})
	res := flowResult(t, env)
	require.Equal(t, httpnode.StatusPartial, res.Status)
	require.Len(t, got, 1)
	require.Equal(t, "http://hooks.test/eu", got[0].Request.Request().URL, "the notify is rendered with the flow's params")
	doc := got[0].Flow
	require.NotNil(t, doc)
	require.Equal(t, "Partial", doc.State)
	require.Equal(t, "nightly", doc.Workflow.WorkflowName)
	require.Equal(t, FlowName, doc.Workflow.WorkflowType)
	require.Equal(t, "u-1", doc.UserData)
	require.Equal(t, []httpnode.TaskFinishTag{{Key: "team", Value: "data"}}, doc.Tags)
	require.Len(t, doc.JobsDetail, 3)
	require.Equal(t, []string{"Success", "Failed", "Skipped"}, []string{doc.JobsDetail[0].State, doc.JobsDetail[1].State, doc.JobsDetail[2].State})
	require.Equal(t, res.Node("good").WorkflowID, doc.JobsDetail[0].JobID)
	require.Equal(t, httpnode.ErrHTTPStatus, doc.JobsDetail[1].Code)
	require.Contains(t, doc.JobsDetail[2].Message, "is false")
	require.Equal(t, httpnode.CallSent, res.Notification.Status)
}

// When Temporal suggests it, a flow lets its running nodes end, starts no
// more, and continues as new with its state; the next run goes on from
// there: no node runs twice, upstream data and the flow's start carry over.
func TestFlow_ContinueAsNewCarriesState(t *testing.T) {
	env, fk := newFlowEnv(t)
	env.SetContinueAsNewSuggested(true)
	c := fnode("c", "", "b")
	c.Node.Request.Query = map[string]string{"a": "${nodes.a.outputs.v}", "run": "${flow.runId}"}
	f := httpnode.Flow{Timeout: httpnode.Duration(time.Hour), Nodes: []httpnode.FlowNode{fnode("a", "sleep=10m"), fnode("b", "sleep=10m", "a"), c}}
	env.ExecuteWorkflow(FlowName, f)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	var input json.RawMessage
	var st *FlowState
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &input, &st))
	require.Equal(t, []string{"a"}, fk.started, "the running node ended; no other started")
	require.Equal(t, httpnode.StatusSucceeded, st.Nodes[0].Status)
	require.Equal(t, StatusPending, st.Nodes[1].Status)
	require.Contains(t, st.Data, "a")

	env2, fk2 := newFlowEnv(t)
	env2.SetContinuedExecutionRunID(st.ContinuedFrom)
	env2.ExecuteWorkflow(FlowName, input, st)
	res := flowResult(t, env2)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, []string{"b", "c"}, fk2.started, "a did not run again")
	require.Equal(t, st.Start, res.StartTime, "the flow's start carries over")
	require.JSONEq(t, fmt.Sprintf(`{"nodes.a.outputs.v": "a", "flow.runId": %q}`, st.Vars.RunID), string(mustJSON(t, fk2.inputs["c"].Refs)))

	// a state given at start (not by continue-as-new) is refused
	env3, fk3 := newFlowEnv(t)
	env3.ExecuteWorkflow(FlowName, input, st)
	require.ErrorContains(t, env3.GetWorkflowError(), "Flow takes one input, the flow")
	require.Empty(t, fk3.started)
}
