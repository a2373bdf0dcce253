package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// Tries of one activity (the first included) before the attempt fails: a
// transient failure of the main request or of a poll is retried this often,
// with backoff from 1s up to 1m, or after the remote's Retry-After.
const (
	RequestTries = 5
	PollTries    = 3
)

var a *activities.Activities // activities are called through a nil pointer: checked at compile time

// HTTPNode runs one node: input is an httpnode.Node as JSON, decoded strictly
// (a parent workflow may pass the struct); state is nil except after
// continue-as-new. The result is returned on success, on skip and with
// onFailure "continue"; with "abort" a failed node fails the workflow with an
// ApplicationError of the failure's type whose details hold the Result.
func HTTPNode(ctx workflow.Context, input json.RawMessage, state *State) (httpnode.Result, error) {
	// The work is split into small frames: a waiting node's coroutine keeps
	// only the frames on its way to the timer, and a small stack is memory
	// saved per waiting node.
	r, err := newNodeRun(ctx, input, state)
	if err != nil {
		return httpnode.Result{}, err
	}
	return r.main(ctx)
}

// newNodeRun decodes the node, sets up the state of a new node run and the
// progress query.
func newNodeRun(ctx workflow.Context, input json.RawMessage, state *State) (*nodeRun, error) {
	node, err := httpnode.Decode(input)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidNode, nil)
	}
	info := workflow.GetInfo(ctx)
	if state == nil {
		state = &State{Attempt: 1, StartTime: workflow.Now(ctx), KeySeed: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID}
		if node.Timeout > 0 {
			state.Deadline = state.StartTime.Add(node.Timeout.D())
		}
	}
	r := &nodeRun{node: node.WithDefaults(), input: input, st: state}
	r.progress = Progress{Phase: PhaseRequest, Attempt: state.Attempt}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	return r, nil
}

// main runs the node: skip, the node timeout, rendering, then the attempts.
func (r *nodeRun) main(ctx workflow.Context) (httpnode.Result, error) {
	state := r.st
	if r.node.RunStatus == httpnode.RunSkip {
		return r.finish(ctx, httpnode.StatusSkipped, nil)
	}
	ctx, cancel := workflow.WithCancel(ctx)
	if !state.Deadline.IsZero() {
		remaining := state.Deadline.Sub(workflow.Now(ctx))
		if remaining <= 0 {
			return r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
		}
		timerCtx, stopTimer := workflow.WithCancel(ctx)
		r.stopTimer = stopTimer
		workflow.Go(timerCtx, func(gctx workflow.Context) {
			timer := workflow.NewTimerWithOptions(gctx, remaining, workflow.TimerOptions{Summary: "node timeout " + r.node.Timeout.String()})
			if timer.Get(gctx, nil) == nil {
				r.timedOut = true
				cancel()
			}
		})
	}
	if state.Rendered == nil && !r.node.NeedsRender() {
		state.Rendered = unrendered(r.node)
	}
	if state.Rendered == nil {
		if res, ended, err := r.renderOnce(ctx); ended {
			return res, err
		}
	}
	return r.run(ctx)
}

// renderOnce renders the node into the state; ended is true when the node
// ends instead (timeout, cancel, a rendering problem).
func (r *nodeRun) renderOnce(ctx workflow.Context) (res httpnode.Result, ended bool, err error) {
	rendered, err := r.render(ctx, workflow.GetInfo(ctx))
	switch {
	case r.timedOut:
		res, err = r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
		return res, true, err
	case err != nil && ctx.Err() != nil:
		return res, true, temporal.NewCanceledError()
	case err != nil:
		res, err = r.finish(ctx, httpnode.StatusFailed, toError(err))
		return res, true, err
	}
	r.st.Rendered = &rendered
	return res, false, nil
}

// scheduledStartTime is the search attribute a Temporal Schedule sets on the
// runs it starts.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// render substitutes parameters, built-ins and time macros once per node run,
// in a local activity (it needs the worker's global parameters), so that
// every attempt, poll and replay uses the recorded values. Time macros use
// the Schedule's scheduled time, else the node's scheduledTime, else the
// workflow's start time.
func (r *nodeRun) render(ctx workflow.Context, info *workflow.Info) (httpnode.Rendered, error) {
	at := info.WorkflowStartTime
	if t, err := time.Parse(time.RFC3339, r.node.ScheduledTime); err == nil {
		at = t
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok {
		at = t
	}
	firstRun := info.FirstRunID
	if firstRun == "" {
		firstRun = info.WorkflowExecution.RunID
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "render parameters",
	})
	var out httpnode.Rendered
	err := workflow.ExecuteLocalActivity(lctx, a.RenderNode, activities.RenderInput{
		Node:          r.node,
		Builtins:      map[string]string{"nodeName": r.node.Name, "workflowId": info.WorkflowExecution.ID, "runId": firstRun},
		ScheduledTime: at,
	}).Get(ctx, &out)
	return out, err
}

// unrendered is the node's requests as they are, for a node without
// references to render.
func unrendered(n httpnode.Node) *httpnode.Rendered {
	out := &httpnode.Rendered{Request: n.Request}
	if n.Callback != nil {
		out.Callback = &n.Callback.Request
	}
	return out
}

// nodeRun is one workflow run of a node.
type nodeRun struct {
	node      httpnode.Node // defaults applied
	input     json.RawMessage
	st        *State
	progress  Progress
	timedOut  bool
	stopTimer func() // cancels the node timeout timer, so no timer outlives the node
}

func (r *nodeRun) run(ctx workflow.Context) (httpnode.Result, error) {
	for {
		err := r.attempt(ctx)
		switch {
		case err == nil:
			return r.finish(ctx, httpnode.StatusSucceeded, nil)
		case r.timedOut:
			return r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
		case isContinueAsNew(err):
			return httpnode.Result{}, err
		case ctx.Err() != nil:
			return httpnode.Result{}, temporal.NewCanceledError() // cancelled from outside
		}
		failure := r.recordFailure(ctx, err)
		if r.st.Attempt > *r.node.Retry.Count {
			return r.finish(ctx, httpnode.StatusFailed, failure)
		}
		interval := r.node.Retry.Interval.D()
		next := workflow.Now(ctx).Add(interval)
		r.progress = Progress{Phase: PhaseRetryWait, Attempt: r.st.Attempt, NextTryTime: &next}
		workflow.GetLogger(ctx).Info("attempt failed; retrying", "attempt", r.st.Attempt, "errorType", failure.Type, "retryIn", interval.String())
		summary := fmt.Sprintf("retry %d of %d", r.st.Attempt, *r.node.Retry.Count)
		if err := workflow.NewTimerWithOptions(ctx, interval, workflow.TimerOptions{Summary: summary}).Get(ctx, nil); err != nil {
			if r.timedOut {
				return r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
			}
			return httpnode.Result{}, temporal.NewCanceledError()
		}
		r.nextAttempt()
	}
}

// recordFailure adds the current attempt's outcome to the attempt log.
func (r *nodeRun) recordFailure(ctx workflow.Context, err error) *httpnode.Error {
	failure := toError(err)
	cur := &r.st.Current
	r.st.AttemptLog = append(r.st.AttemptLog, httpnode.AttemptOutcome{
		Attempt: r.st.Attempt, StatusCode: statusCode(cur.Response), TaskID: cur.TaskID,
		CallbackStatus: cur.LastStatus, Polls: cur.Polls, Error: failure, EndTime: workflow.Now(ctx),
	})
	return failure
}

func (r *nodeRun) nextAttempt() {
	r.st.Attempt++
	r.st.Current = AttemptState{}
}

// attempt sends the main request (unless a previous run already did) and
// waits for the job's final status.
func (r *nodeRun) attempt(ctx workflow.Context) error {
	if r.st.Current.StatusURL == "" {
		done, err := r.sendMain(ctx)
		if err != nil || done {
			return err
		}
	}
	return r.wait(ctx)
}

// sendMain sends the main request and, for a node with a callback, reads the
// task id and builds the status URL; done is true for a node without one.
func (r *nodeRun) sendMain(ctx workflow.Context) (done bool, err error) {
	cur := &r.st.Current
	r.progress = Progress{Phase: PhaseRequest, Attempt: r.st.Attempt}
	req, err := httpnode.RenderRequest("request", r.st.Rendered.Request, r.attemptVars())
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil)
	}
	actx := workflow.WithActivityOptions(ctx, activityOptions(req, req.Method+" "+httpnode.RedactURL(req.URL), RequestTries))
	out := &activities.SendRequestOutput{}
	err = workflow.ExecuteActivity(actx, a.SendRequest, activities.SendRequestInput{Request: req, IdempotencyKey: r.st.idempotencyKey()}).Get(ctx, out)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() && app.Details(out) == nil {
			cur.Sent, cur.Response = &out.Sent, &out.Response
		}
		return false, err
	}
	cur.Sent, cur.Response = &out.Sent, &out.Response
	cb := r.node.Callback
	if cb == nil {
		return true, nil
	}
	taskID, err := httpnode.Lookup(out.Response.BodyBytes(), cb.TaskIDField)
	if err != nil {
		hint := " (set callback.taskIdField to the field that holds the task id)"
		if out.Response.Truncated {
			hint = " (the body was cut at request.maxResponseBytes; raise it)"
		}
		return false, temporal.NewNonRetryableApplicationError("request: no task id in the main response: "+err.Error()+hint+out.Response.Excerpt(), httpnode.ErrMissingTaskID, nil)
	}
	statusURL, err := httpnode.StatusURL(r.st.Rendered.Callback.URL, taskID)
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError("callback.url: "+err.Error(), httpnode.ErrMissingTaskID, nil)
	}
	cur.TaskID, cur.StatusURL = taskID, statusURL
	cur.PollDeadline = workflow.Now(ctx).Add(cb.Deadline.D())
	return false, nil
}

// wait polls the status URL on a durable timer until a final status, a
// budget runs out, or the run has made enough polls to continue as new.
func (r *nodeRun) wait(ctx workflow.Context) error {
	cb := r.node.Callback
	cur := &r.st.Current
	vars := r.attemptVars()
	vars.Builtins["taskId"] = cur.TaskID
	poll, err := httpnode.RenderRequest("callback", *r.st.Rendered.Callback, vars)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil)
	}
	poll.URL = cur.StatusURL
	check := &activities.CheckStatusInput{Request: poll, StatusField: cb.StatusField, Pending: cb.Pending, Success: cb.Success, IntervalField: cb.IntervalField}
	seed := r.st.KeySeed + "/" + strconv.Itoa(r.st.Attempt)
	if cb.Mode == httpnode.ModeActivity {
		return r.waitInActivity(ctx, *check, seed)
	}
	for runPolls := 0; ; runPolls++ {
		wait, errType, msg := cb.BeforePoll(cur.PollState, workflow.Now(ctx), cur.PollDeadline, seed)
		if errType != "" {
			return temporal.NewNonRetryableApplicationError(msg, errType, nil)
		}
		if runPolls >= cb.PollsPerRun || (runPolls > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			workflow.GetLogger(ctx).Info("continuing as new", "polls", cur.Polls, "attempt", r.st.Attempt)
			return workflow.NewContinueAsNewError(ctx, HTTPNodeName, r.input, r.st)
		}
		r.setWaiting(workflow.Now(ctx).Add(wait))
		// Temporal Web shows a local activity by its type only: the timer
		// before each poll names the poll and its target.
		target := fmt.Sprintf("poll %d: %s %s", cur.Polls+1, check.Request.Method, httpnode.RedactURL(check.Request.URL))
		if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "wait, then " + target}).Get(ctx, nil); err != nil {
			return err
		}
		if done, err := r.pollOnce(ctx, check, target); done || err != nil {
			return err
		}
	}
}

// setWaiting is the progress while waiting for the next poll.
func (r *nodeRun) setWaiting(next time.Time) {
	cur := &r.st.Current
	r.progress = Progress{Phase: PhaseWaiting, Attempt: r.st.Attempt, Polls: cur.Polls, LastStatus: cur.LastStatus, TaskID: cur.TaskID, NextPollTime: &next, Stuck: cur.Stuck}
	if cur.Stuck {
		r.progress.StatusSince = &cur.StatusSince
	}
}

// pollOnce runs one poll as a local activity: it runs in the workflow task
// the timer wakes, so a poll costs 6 history events instead of 11. done is
// true when the remote status is final (err says how it failed).
func (r *nodeRun) pollOnce(ctx workflow.Context, check *activities.CheckStatusInput, target string) (done bool, err error) {
	cur := &r.st.Current
	ao := activityOptions(check.Request, target, PollTries)
	pctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: ao.StartToCloseTimeout, RetryPolicy: ao.RetryPolicy, Summary: ao.Summary,
	})
	out := &activities.CheckStatusOutput{}
	err = workflow.ExecuteLocalActivity(pctx, a.CheckStatus, *check).Get(ctx, out)
	cur.Polls++
	if err != nil {
		return true, err
	}
	cur.Observe(out.Status, out.NextInterval, workflow.Now(ctx))
	switch out.Outcome {
	case activities.OutcomePending:
		return false, r.checkStuck(ctx)
	case activities.OutcomeSuccess:
		cur.CallbackResponse = out.Response
		return true, nil
	}
	cur.CallbackResponse = out.Response
	return true, temporal.NewNonRetryableApplicationError(httpnode.FailedMessage(cur.TaskID, out.Status, out.Response), httpnode.ErrCallbackStatus, nil)
}

// waitInActivity polls inside one heartbeating activity: no history event
// per poll, at the cost of per-poll visibility (the activity's heartbeat
// shows the last status) and of an activity slot held for the whole wait.
func (r *nodeRun) waitInActivity(ctx workflow.Context, check activities.CheckStatusInput, seed string) error {
	cb, cur := r.node.Callback, &r.st.Current
	r.progress = Progress{Phase: PhaseWaiting, Attempt: r.st.Attempt, Polls: cur.Polls, LastStatus: cur.LastStatus, TaskID: cur.TaskID}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: max(cur.PollDeadline.Sub(workflow.Now(ctx)), 0) + cb.Timeout.D() + time.Minute,
		HeartbeatTimeout:    activities.PollHeartbeatTimeout,
		// a lost worker or a transient poll failure resumes from the last heartbeat
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
		Summary:     fmt.Sprintf("poll until final: %s %s", check.Request.Method, httpnode.RedactURL(check.Request.URL)),
	})
	var out activities.PollUntilDoneOutput
	err := workflow.ExecuteActivity(actx, a.PollUntilDone, activities.PollUntilDoneInput{
		Check: check, Callback: *cb, Seed: seed, Deadline: cur.PollDeadline, State: cur.PollState, TaskID: cur.TaskID,
	}).Get(ctx, &out)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&cur.PollState)
		}
		return err
	}
	cur.PollState, cur.CallbackResponse = out.State, out.Last.Response
	if cur.Stuck && r.st.Rendered.StuckAttribute {
		if err := workflow.UpsertTypedSearchAttributes(ctx, stuckAttribute.ValueSet(true)); err != nil {
			return err
		}
	}
	if out.Last.Outcome == activities.OutcomeSuccess {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(httpnode.FailedMessage(cur.TaskID, out.Last.Status, out.Last.Response), httpnode.ErrCallbackStatus, nil)
}

// finish builds the result and decides, by onFailure, whether the workflow
// completes with it or fails carrying it.
func (r *nodeRun) finish(ctx workflow.Context, status string, failure *httpnode.Error) (httpnode.Result, error) {
	cur := r.st.Current
	res := httpnode.Result{
		Status: status, Name: r.node.Name, Attempts: r.st.Attempt, AttemptLog: r.st.AttemptLog,
		Request: cur.Sent, Response: cur.Response, TaskID: cur.TaskID,
		CallbackStatus: cur.LastStatus, Polls: cur.Polls, CallbackResponse: cur.CallbackResponse, Stuck: cur.Stuck,
		Error: failure, StartTime: r.st.StartTime, EndTime: workflow.Now(ctx),
	}
	if rd := r.st.Rendered; rd != nil {
		res.Params, res.ScheduledTime = rd.Params, &rd.ScheduledTime
	}
	if status == httpnode.StatusSkipped {
		res.Attempts = 0
	}
	r.progress = Progress{Phase: PhaseDone, Attempt: res.Attempts, Polls: cur.Polls, LastStatus: cur.LastStatus, TaskID: cur.TaskID}
	if r.stopTimer != nil {
		r.stopTimer()
	}
	workflow.GetLogger(ctx).Info("node finished", "status", status, "attempts", res.Attempts, "polls", cur.Polls)
	if failure == nil || r.node.OnFailure == httpnode.OnFailureContinue {
		return res, nil
	}
	return res, temporal.NewNonRetryableApplicationError(failure.Message, failure.Type, nil, res)
}

// checkStuck flags the node once its remote status has stopped changing for
// longer than the node allows: a log line, the progress query, the result,
// and the HttpNodeStuck search attribute when the namespace has it. With
// failWhenStuck the attempt fails instead.
func (r *nodeRun) checkStuck(ctx workflow.Context) error {
	cb, cur := r.node.Callback, &r.st.Current
	now := workflow.Now(ctx)
	if !cb.StuckNow(cur.PollState, now) {
		return nil
	}
	if cb.FailWhenStuck {
		return temporal.NewNonRetryableApplicationError(cb.StuckMessage(cur.PollState, cur.TaskID, now), httpnode.ErrRemoteStuck, nil)
	}
	cur.Stuck = true
	workflow.GetLogger(ctx).Warn("remote job looks stuck", "taskId", cur.TaskID, "status", cur.LastStatus, "polls", cur.SamePolls, "unchangedFor", now.Sub(cur.StatusSince).String())
	if r.st.Rendered.StuckAttribute {
		return workflow.UpsertTypedSearchAttributes(ctx, stuckAttribute.ValueSet(true))
	}
	return nil
}

var stuckAttribute = temporal.NewSearchAttributeKeyBool(activities.StuckSearchAttribute)

// attemptVars fill in ${attempt}; ${taskId} is added when polling starts.
func (r *nodeRun) attemptVars() *httpnode.Vars {
	return &httpnode.Vars{Builtins: map[string]string{"attempt": strconv.Itoa(r.st.Attempt)}}
}

func (r *nodeRun) timeoutError() *httpnode.Error {
	return &httpnode.Error{Type: httpnode.ErrNodeTimeout, Message: fmt.Sprintf("node: timeout %s passed during attempt %d", r.node.Timeout, r.st.Attempt)}
}

func activityOptions(req httpnode.Request, summary string, tries int32) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		// The HTTP client enforces the per-try timeout; the margin covers
		// building the request and reading the body.
		StartToCloseTimeout: req.Timeout.D() + 10*time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: tries,
		},
		Summary: summary,
	}
}

// toError reduces an activity or workflow error to its stable type and message.
func toError(err error) *httpnode.Error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return &httpnode.Error{Type: app.Type(), Message: app.Message()}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return &httpnode.Error{Type: httpnode.ErrActivityTimeout, Message: "an activity timed out (" + timeout.TimeoutType().String() + "): the worker running it may have been lost"}
	}
	return &httpnode.Error{Type: "Unknown", Message: err.Error()}
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

func statusCode(r *httpnode.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}
