package workflows

import (
	"encoding/json"
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
//
// A long flow continues as new when Temporal suggests it: it stops
// starting nodes, lets the running ones end, and passes the next run the
// same input and its FlowState.
func Flow(ctx workflow.Context, input json.RawMessage, state *FlowState) (*httpnode.FlowResult, error) {
	f, err := httpnode.DecodeFlow(input)
	if err != nil {
		workflow.GetLogger(ctx).Warn("flow refused: invalid", "error", err.Error())
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidFlow, nil)
	}
	if specs := f.Expressions(); len(specs) > 0 {
		if err := workflow.ExecuteLocalActivity(pureLocal(ctx, "compile the flow's expressions"), a.CheckExpressions, specs).Get(ctx, nil); err != nil {
			e := toError(err)
			return nil, temporal.NewNonRetryableApplicationError(e.Message, e.Type, nil)
		}
	}
	info := workflow.GetInfo(ctx)
	if state != nil && !state.trusted(info) {
		if info.ContinuedExecutionRunID == "" {
			return nil, temporal.NewNonRetryableApplicationError("Flow takes one input, the flow: a second input is the state a flow carries across continue-as-new, and cannot be given when a flow is started (start it with the flow alone)", httpnode.ErrInvalidFlow, nil)
		}
		state = nil // a cron run or a workflow retry: the flow runs anew
	}
	fr := newFlowRun(ctx, f.WithDefaults(), state)
	fr.input = input
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (httpnode.FlowResult, error) { return fr.snapshot(), nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, RecordQuery, func() (NodeRecord, error) { return fr.record(), nil }); err != nil {
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
	// draining is set when Temporal suggests continue-as-new: no node
	// starts, and once the running ones ended the flow continues as new
	// (unless its state is too big to carry: keep is then set).
	draining, keep bool
	input          json.RawMessage
}

// FlowState is what a flow carries across continue-as-new: its start, its
// values, and every node that ended (with a slim result).
type FlowState struct {
	// ContinuedFrom is the run that continued as new with this state.
	ContinuedFrom string                       `json:"continuedFrom"`
	Start         time.Time                    `json:"start"`
	Vars          httpnode.FlowVars            `json:"vars"`
	Nodes         []httpnode.FlowNodeResult    `json:"nodes"`
	Data          map[string]httpnode.NodeData `json:"data,omitempty"`
}

// maxFlowStateBytes bounds the state a flow carries to its next run; a
// bigger one keeps the flow in its run (its history only grows longer).
const maxFlowStateBytes = 1 << 20

// trusted reports whether the run of info may take s: only the run that
// its previous run continued as new into.
func (s *FlowState) trusted(info *workflow.Info) bool {
	return info.ContinuedExecutionRunID != "" && s.ContinuedFrom == info.ContinuedExecutionRunID
}

func newFlowRun(ctx workflow.Context, f httpnode.Flow, state *FlowState) *flowRun {
	info := workflow.GetInfo(ctx)
	if state != nil {
		fr := &flowRun{f: f, vars: state.Vars, nodes: state.Nodes, data: state.Data, started: make([]bool, len(f.Nodes)), start: state.Start}
		if fr.data == nil {
			fr.data = map[string]httpnode.NodeData{}
		}
		for i, n := range fr.nodes {
			_, fr.started[i] = fr.data[n.ID]
		}
		return fr
	}
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
		started: make([]bool, len(f.Nodes)), start: info.WorkflowStartTime,
	}
	for i, n := range f.Nodes {
		fr.nodes[i] = httpnode.FlowNodeResult{ID: n.ID, Status: StatusPending}
		if f.Rerun != nil {
			if r, ok := f.Rerun.Reuse[n.ID]; ok {
				fr.reuse(i, r)
			}
		}
	}
	return fr
}

// reuse ends node i with its result recorded by the run this one reruns.
func (fr *flowRun) reuse(i int, r httpnode.ReusedNode) {
	n := &fr.nodes[i]
	n.Status, n.WorkflowID, n.Reason, n.Reused = r.Status, r.WorkflowID, r.Reason, true
	if res := r.Result; res != nil {
		n.Attempts, n.Polls, n.TaskID, n.Outputs = res.Attempts, res.Polls, res.TaskID, res.Outputs
		if res.Response != nil {
			n.StatusCode = res.Response.StatusCode
		}
		start, end := res.StartTime, res.EndTime
		n.StartTime, n.EndTime = &start, &end
	}
	fr.started[i] = true
	fr.data[n.ID] = httpnode.NodeData{Status: r.Status, Result: r.Result}
}

// RecordQuery is the query a rerun reads an ended flow's node results
// with (Temporal answers it for a closed workflow too, by replaying it).
const RecordQuery = "record"

// NodeRecord is the answer to RecordQuery: the flow document as it ran
// (defaults applied, without its own rerun block) and the nodes that
// ended, by id.
type NodeRecord struct {
	Flow  httpnode.Flow                  `json:"flow"`
	Nodes map[string]httpnode.ReusedNode `json:"nodes"`
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
		left := max(fr.f.Timeout.D()-workflow.Now(ctx).Sub(fr.start), time.Millisecond) // from the first run's start
		sel.AddFuture(workflow.NewTimer(tctx, left), func(f workflow.Future) {
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
		workflow.SetCurrentDetails(ctx, fr.snapshot().Markdown(workflow.Now(ctx)))
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
		if !fr.stop && !fr.keep && !fr.draining && len(fr.data) < len(fr.nodes) && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			fr.draining = true
			workflow.GetLogger(ctx).Info("flow drains to continue as new", "running", fr.running, "ended", len(fr.data), "nodes", len(fr.nodes))
		}
		if fr.draining && fr.running == 0 && !fr.stop {
			if err := fr.continueAsNew(ctx); err != nil {
				return nil, err
			}
		}
	}
	return fr.result(ctx)
}

// continueAsNew returns the continue-as-new error that carries the flow's
// state to its next run, unless the state is too big to carry: the flow
// then goes on in this run (nil).
func (fr *flowRun) continueAsNew(ctx workflow.Context) error {
	st := FlowState{ContinuedFrom: workflow.GetInfo(ctx).WorkflowExecution.RunID, Start: fr.start, Vars: fr.vars, Nodes: fr.nodes,
		Data: map[string]httpnode.NodeData{}}
	for _, id := range slices.Sorted(maps.Keys(fr.data)) {
		d := fr.data[id]
		st.Data[id] = httpnode.NodeData{Status: d.Status, Result: httpnode.Reusable(d.Result)}
	}
	if b, err := json.Marshal(st); err != nil || len(b) > maxFlowStateBytes {
		workflow.GetLogger(ctx).Warn("flow stays in this run: its state is too big to carry to the next", "bytes", len(b), "max", maxFlowStateBytes)
		fr.draining, fr.keep = false, true
		return nil
	}
	workflow.GetLogger(ctx).Info("flow continues as new", "ended", len(fr.data), "nodes", len(fr.nodes))
	return workflow.NewContinueAsNewError(ctx, FlowName, fr.input, &st)
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
			if fr.running >= fr.f.MaxParallel || fr.draining {
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
	up := map[string]httpnode.NodeData{}
	for _, id := range fr.f.Upstream(n.ID) {
		up[id] = fr.data[id]
	}
	var run bool
	err := workflow.ExecuteLocalActivity(pureLocal(ctx, "when of "+n.ID), a.JudgeWhen, activities.JudgeWhenInput{
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
	node.InFlow = &httpnode.InFlow{Flow: fr.f.Name, Node: fr.f.Nodes[i].ID}
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
		StaticSummary:       fmt.Sprintf("node %s · %s", fr.f.Nodes[i].ID, node.Summary()),
		StaticDetails:       node.Details(),
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
			d.res = httpnode.ResultOf(err) // a failed or cancelled child carries its result
		}
		*done = append(*done, d)
	})
}

// childEnded records node i's end.
func (fr *flowRun) childEnded(d childDone) {
	fr.running--
	n := &fr.nodes[d.i]
	res := d.res
	switch {
	case res != nil:
		n.Status, n.Attempts, n.Polls, n.TaskID, n.Outputs, n.Error = res.Status, res.Attempts, res.Polls, res.TaskID, res.Outputs, res.Error
		if n.Status == httpnode.StatusCancelled && n.Error == nil {
			n.Error = &httpnode.Error{Type: httpnode.ErrCancelled, Message: "the node was cancelled"}
		}
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
	res := fr.resultNow(fr.statusNow())
	res.Nodes = slices.Clone(res.Nodes)
	return res
}

// resultNow is the flow's result with status.
func (fr *flowRun) resultNow(status string) httpnode.FlowResult {
	res := httpnode.FlowResult{Status: status, Name: fr.f.Name, Nodes: fr.nodes, Error: fr.failure, StartTime: fr.start}
	if rr := fr.f.Rerun; rr != nil {
		res.RerunOf, res.From = &rr.Of, rr.From
	}
	return res
}

// record is what a rerun of this run reuses: every node that ended, with
// its status, child and a slim result (the NodeRecord query).
func (fr *flowRun) record() NodeRecord {
	out := NodeRecord{Flow: fr.f, Nodes: map[string]httpnode.ReusedNode{}}
	out.Flow.Rerun = nil
	for _, n := range fr.nodes {
		if d, ok := fr.data[n.ID]; ok {
			out.Nodes[n.ID] = httpnode.ReusedNode{Status: d.Status, WorkflowID: n.WorkflowID, Reason: n.Reason, Result: httpnode.Reusable(d.Result)}
		}
	}
	return out
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
	r := fr.resultNow(fr.endStatus())
	res := &r
	res.EndTime = workflow.Now(ctx)
	if nt := fr.f.Notify; nt != nil && nt.Notifies(res.Status) {
		dctx, _ := workflow.NewDisconnectedContext(ctx) // a cancelled flow notifies too
		res.Notification = fr.notify(dctx, *res)
	}
	workflow.SetCurrentDetails(ctx, res.Markdown(res.EndTime))
	switch res.Status {
	case httpnode.StatusFailed, httpnode.StatusTimedOut:
		return nil, temporal.NewNonRetryableApplicationError(res.Error.Message, res.Error.Type, nil, res)
	case httpnode.StatusCancelled:
		return nil, temporal.NewCanceledError(*res)
	}
	return res, nil
}

// notify sends the flow's TaskFinish document (a JobsDetail entry per
// node), rendered as a node's notify is; its failure is reported in the
// result, never raised.
func (fr *flowRun) notify(ctx workflow.Context, res httpnode.FlowResult) *httpnode.CallOutcome {
	node := fr.f.NotifyNode().WithDefaults()
	rd, err := renderNode(ctx, "render the flow's notify", activities.RenderInput{
		Node:          node,
		Builtins:      map[string]string{"nodeName": fr.f.Name, "workflowId": fr.vars.ID, "runId": fr.vars.RunID},
		ScheduledTime: fr.vars.ScheduledTime,
	})
	if err != nil {
		return failed(err)
	}
	req, err := rd.ForAttempt(1).Notify("")
	if err != nil {
		return failed(invalidParameter(err))
	}
	doc := fr.flowFinish(res, *node.Notify)
	return sendNotification(ctx, fr.vars.ID+"/"+fr.vars.RunID, activities.NotifyInput{Request: *req, Format: node.Notify.Format, Flow: &doc})
}

// flowFinish is the flow's completion document.
func (fr *flowRun) flowFinish(res httpnode.FlowResult, nt httpnode.Notify) httpnode.FlowFinish {
	doc := httpnode.FlowFinish{
		EventName: httpnode.TaskFinishEvent, State: httpnode.TaskFinishState(res.Status), UserData: nt.UserData,
		Workflow: httpnode.TaskFinishRunInfo{RunID: fr.vars.RunID, WorkflowID: fr.vars.ID, WorkflowType: FlowName, WorkflowName: fr.f.Name, Name: fr.f.Name},
	}
	doc.Tags = nt.TaskFinishTags()
	for i, n := range res.Nodes {
		req := fr.f.Nodes[i].Node.Request
		job := httpnode.TaskFinishJob{
			Code: "Success", State: httpnode.TaskFinishState(n.Status), JobID: n.WorkflowID,
			Input:  httpnode.TaskFinishInput{Name: n.ID, Method: req.Verb(), URL: httpnode.RedactURL(req.URL)},
			Output: httpnode.TaskFinishOutput{TaskID: n.TaskID, StatusCode: n.StatusCode, Attempts: n.Attempts, Polls: n.Polls},
		}
		if n.StartTime != nil {
			job.CreationTime, job.StartTime = rfc3339(*n.StartTime), rfc3339(*n.StartTime)
		}
		if n.EndTime != nil {
			job.EndTime = rfc3339(*n.EndTime)
		}
		switch {
		case n.Error != nil:
			job.Code, job.Message = n.Error.Type, n.Error.Message
		case n.Status != httpnode.StatusSucceeded:
			job.Code, job.Message = job.State, n.Reason
		}
		doc.JobsDetail = append(doc.JobsDetail, job)
	}
	return doc
}
