package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// Flow runs a flow: input is an httpnode.Flow as JSON, decoded strictly.
// Each node runs as an HTTPNode child workflow (id <flow id>/<node id>)
// once the nodes it needs have ended and its when is true, at most
// maxParallel at once, in the document's order; its references to upstream
// data are filled in (Node.Refs) and the fields whose data is missing left
// out (Node.SkippedFields). The result is an httpnode.FlowResult; a flow
// that ends FAILED or TIMED_OUT fails the workflow with the failure's type,
// the result in its details, so a parent sees a failed flow as a failure.
func Flow(ctx workflow.Context, input json.RawMessage) (*httpnode.FlowResult, error) {
	f, err := httpnode.DecodeFlow(input)
	if err != nil {
		workflow.GetLogger(ctx).Warn("flow refused: invalid", "error", err.Error())
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidFlow, nil)
	}
	if specs := f.Expressions(); len(specs) > 0 {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 10 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
			Summary:             "compile the flow's expressions",
		})
		if err := workflow.ExecuteLocalActivity(lctx, a.CheckExpressions, specs).Get(ctx, nil); err != nil {
			e := toError(err)
			return nil, temporal.NewNonRetryableApplicationError(e.Message, e.Type, nil)
		}
	}
	fr := newFlowRun(ctx, f.WithDefaults())
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (httpnode.FlowResult, error) { return fr.snapshot(), nil }); err != nil {
		return nil, err
	}
	return fr.run(ctx)
}

// flowRun is one run of a flow.
type flowRun struct {
	f     httpnode.Flow
	vars  httpnode.FlowVars
	nodes []httpnode.FlowNodeResult // by index in f.Nodes
	data  map[string]httpnode.NodeData
	// started: the node's child is running or ended (a node has ended
	// once its data is in); running counts the children that have not.
	started []bool
	running int
	// stop is set when the flow stops starting nodes (abort, timeout,
	// cancel); status and failure are then the flow's.
	stop    bool
	status  string
	failure *httpnode.Error
	start   time.Time
}

func newFlowRun(ctx workflow.Context, f httpnode.Flow) *flowRun {
	info := workflow.GetInfo(ctx)
	at := info.WorkflowStartTime
	if t, err := time.Parse(time.RFC3339, f.ScheduledTime); err == nil {
		at = t
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
		at = t
	}
	fr := &flowRun{
		f: f, vars: httpnode.FlowVars{Name: f.Name, ID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, ScheduledTime: at},
		nodes: make([]httpnode.FlowNodeResult, len(f.Nodes)), data: map[string]httpnode.NodeData{},
		started: make([]bool, len(f.Nodes)), start: workflow.Now(ctx),
	}
	for i, n := range f.Nodes {
		fr.nodes[i] = httpnode.FlowNodeResult{ID: n.ID, Status: StatusPending}
	}
	return fr
}

// StatusPending and StatusRunning are a flow node's status in the progress
// query before it ends.
const (
	StatusPending = "PENDING"
	StatusRunning = "RUNNING"
)

// childDone is a child's end, as the selector hands it over.
type childDone struct {
	i   int
	res *httpnode.Result
	err error
}

// run starts the nodes as they become ready and takes their ends, until
// every node has ended (or the flow stopped and its children ended).
func (fr *flowRun) run(ctx workflow.Context) (*httpnode.FlowResult, error) {
	cctx, cancelChildren := workflow.WithCancel(ctx)
	sel := workflow.NewSelector(ctx)
	var done []childDone
	if fr.f.Timeout > 0 {
		tctx, stopTimer := workflow.WithCancel(ctx)
		defer stopTimer()
		sel.AddFuture(workflow.NewTimer(tctx, fr.f.Timeout.D()), func(f workflow.Future) {
			if f.Get(ctx, nil) == nil && !fr.stop {
				fr.stopWith(httpnode.StatusTimedOut, &httpnode.Error{Type: httpnode.ErrNodeTimeout, Message: fmt.Sprintf("the flow's timeout %s passed", fr.f.Timeout)})
				cancelChildren()
			}
		})
	}
	for {
		fr.startReady(ctx, cctx, sel, &done)
		if fr.running == 0 {
			break
		}
		sel.Select(ctx)
		if ctx.Err() != nil && !fr.stop { // the flow itself was cancelled
			fr.stopWith(httpnode.StatusCancelled, &httpnode.Error{Type: httpnode.ErrCancelled, Message: "the flow was cancelled"})
			cancelChildren()
		}
		for _, d := range done {
			fr.childEnded(d)
			if fr.failed(d.i) && fr.policy(d.i) == httpnode.OnFailureAbort && !fr.stop {
				fr.stopWith(httpnode.StatusFailed, &httpnode.Error{Type: fr.nodes[d.i].Error.Type,
					Message: fmt.Sprintf("node %s failed: %s", fr.nodes[d.i].ID, fr.nodes[d.i].Error.Message)})
				cancelChildren()
			}
		}
		done = done[:0]
	}
	return fr.result(ctx)
}

// failed reports whether node i ended in a failure (not a skip).
func (fr *flowRun) failed(i int) bool {
	switch fr.nodes[i].Status {
	case httpnode.StatusFailed, httpnode.StatusTimedOut, httpnode.StatusCancelled:
		return true
	}
	return false
}

// policy is node i's onFailure: its own, else the flow's.
func (fr *flowRun) policy(i int) string {
	if p := fr.f.Nodes[i].Node.OnFailure; p != "" {
		return p
	}
	return fr.f.OnFailure
}

func (fr *flowRun) stopWith(status string, failure *httpnode.Error) {
	fr.stop, fr.status, fr.failure = true, status, failure
}

// startReady starts, in order, every node whose needs have ended, while
// fewer than maxParallel run; a node that cannot run ends at once
// (skipped, not run), which may make others ready.
func (fr *flowRun) startReady(ctx, cctx workflow.Context, sel workflow.Selector, done *[]childDone) {
	for progress := true; progress; {
		progress = false
		for i, n := range fr.f.Nodes {
			if fr.started[i] || !fr.ready(n) {
				continue
			}
			if fr.stop {
				fr.endWithout(i, httpnode.StatusNotRun, "the flow ended before the node could start: "+fr.failure.Message)
				progress = true
				continue
			}
			if fr.running >= fr.f.MaxParallel {
				return
			}
			fr.started[i] = true
			progress = true
			if fr.skippedByWhen(ctx, i) {
				continue
			}
			node, skipped, blocked := fr.nodeFor(i)
			if blocked != "" {
				fr.endWithout(i, httpnode.StatusSkipped, blocked+" needs data that an upstream node does not have (it failed or was skipped)")
				continue
			}
			fr.startChild(cctx, sel, i, node, skipped, done)
		}
	}
}

// ready reports whether every node that n needs has ended.
func (fr *flowRun) ready(n httpnode.FlowNode) bool {
	for _, need := range n.Needs {
		if _, ok := fr.data[need]; !ok {
			return false
		}
	}
	return true
}

// skippedByWhen evaluates node i's when (in a local activity) and ends the
// node SKIPPED when it is false or cannot be evaluated.
func (fr *flowRun) skippedByWhen(ctx workflow.Context, i int) bool {
	n := fr.f.Nodes[i]
	if n.When == "" {
		return false
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "when of " + n.ID,
	})
	up := map[string]httpnode.NodeData{}
	for _, id := range fr.f.Upstream(n.ID) {
		up[id] = fr.data[id]
	}
	var run bool
	err := workflow.ExecuteLocalActivity(lctx, a.JudgeWhen, activities.JudgeWhenInput{
		Field: fmt.Sprintf("nodes[%d].when", i), When: n.When, Nodes: up, Flow: fr.vars,
	}).Get(ctx, &run)
	switch {
	case err != nil:
		fr.endWithout(i, httpnode.StatusSkipped, "its when could not be evaluated: "+toError(err).Message)
	case !run:
		fr.endWithout(i, httpnode.StatusSkipped, fmt.Sprintf("its when %q is false", n.When))
	}
	return err != nil || !run
}

// nodeFor is node i as its child runs it: the flow's params under its own,
// the flow's scheduled time, its onFailure, the values of its references,
// and without the fields whose data is missing.
func (fr *flowRun) nodeFor(i int) (node httpnode.Node, skipped []string, blocked string) {
	node = fr.f.Nodes[i].Node
	params := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(fr.f.Params)) {
		params[k] = fr.f.Params[k]
	}
	for _, k := range slices.Sorted(maps.Keys(node.Params)) {
		params[k] = node.Params[k] // the node's own win
	}
	if len(params) > 0 {
		node.Params = params
	}
	node.ScheduledTime = fr.vars.ScheduledTime.Format(time.RFC3339)
	node.OnFailure = fr.policy(i)
	refs := map[string]json.RawMessage{}
	for _, use := range node.FlowRefs() {
		if v, ok := httpnode.FlowRefValue(use.Ref, fr.data, fr.vars); ok {
			refs[use.Ref] = v
		}
	}
	node, skipped, blocked = node.LeaveOut(func(ref string) bool { _, ok := refs[ref]; return !ok })
	if len(refs) > 0 {
		node.Refs = refs
	}
	node.SkippedFields = skipped
	return node, skipped, blocked
}

// startChild starts node i's HTTPNode child workflow.
func (fr *flowRun) startChild(cctx workflow.Context, sel workflow.Selector, i int, node httpnode.Node, skipped []string, done *[]childDone) {
	id := fr.vars.ID + "/" + fr.f.Nodes[i].ID
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:          id,
		WaitForCancellation: true, // a cancelled node calls its cancel request before the flow ends
		ParentClosePolicy:   enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		StaticSummary:       "node " + fr.f.Nodes[i].ID,
	}
	now := workflow.Now(cctx)
	fr.nodes[i].WorkflowID, fr.nodes[i].Status, fr.nodes[i].StartTime, fr.nodes[i].SkippedFields = id, StatusRunning, &now, skipped
	fr.running++
	fut := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(cctx, opts), HTTPNodeName, node)
	sel.AddFuture(fut, func(f workflow.Future) {
		var res httpnode.Result
		err := f.Get(cctx, &res)
		d := childDone{i: i, err: err}
		if err == nil {
			d.res = &res
		} else {
			d.res = failedResult(err)
		}
		*done = append(*done, d)
	})
}

// failedResult is the Result a failed child carries in its failure's
// details (nil without).
func failedResult(err error) *httpnode.Result {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		var res httpnode.Result
		if app.Details(&res) == nil && res.Status != "" {
			return &res
		}
	}
	return nil
}

// childEnded records node i's end.
func (fr *flowRun) childEnded(d childDone) {
	fr.running--
	n := &fr.nodes[d.i]
	res := d.res
	switch {
	case res != nil:
		n.Status, n.Attempts, n.TaskID, n.Outputs, n.Error = res.Status, res.Attempts, res.TaskID, res.Outputs, res.Error
		if res.Response != nil {
			n.StatusCode = res.Response.StatusCode
		}
		end := res.EndTime
		n.EndTime = &end
	case temporal.IsCanceledError(d.err):
		n.Status, n.Error = httpnode.StatusCancelled, &httpnode.Error{Type: httpnode.ErrCancelled, Message: "the node was cancelled"}
	default:
		n.Status, n.Error = httpnode.StatusFailed, toError(d.err)
	}
	fr.data[n.ID] = httpnode.NodeData{Status: n.Status, Result: res}
}

// endWithout ends node i without a child: skipped or not run.
func (fr *flowRun) endWithout(i int, status, reason string) {
	fr.started[i] = true
	fr.nodes[i].Status, fr.nodes[i].Reason = status, reason
	fr.data[fr.f.Nodes[i].ID] = httpnode.NodeData{Status: status}
}

// snapshot is the flow's result so far, for the progress query.
func (fr *flowRun) snapshot() httpnode.FlowResult {
	return httpnode.FlowResult{Status: fr.statusNow(), Name: fr.f.Name, Nodes: slices.Clone(fr.nodes), Error: fr.failure, StartTime: fr.start}
}

// statusNow is the flow's status: RUNNING until it ends.
func (fr *flowRun) statusNow() string {
	if fr.running > 0 || len(fr.data) < len(fr.nodes) {
		return StatusRunning
	}
	return fr.endStatus()
}

// endStatus is the status of the ended flow.
func (fr *flowRun) endStatus() string {
	if fr.stop {
		return fr.status
	}
	for i := range fr.nodes {
		if fr.failed(i) {
			return httpnode.StatusPartial
		}
	}
	return httpnode.StatusSucceeded
}

// result is the flow's result: returned, or in the details of the failure
// of a flow that ended FAILED or TIMED_OUT.
func (fr *flowRun) result(ctx workflow.Context) (*httpnode.FlowResult, error) {
	res := &httpnode.FlowResult{Status: fr.endStatus(), Name: fr.f.Name, Nodes: fr.nodes, Error: fr.failure, StartTime: fr.start, EndTime: workflow.Now(ctx)}
	switch res.Status {
	case httpnode.StatusFailed, httpnode.StatusTimedOut:
		return nil, temporal.NewNonRetryableApplicationError(res.Error.Message, res.Error.Type, nil, res)
	case httpnode.StatusCancelled:
		return nil, temporal.NewCanceledError(res)
	}
	return res, nil
}
