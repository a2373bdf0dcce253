package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
// continue-as-new. The result (an httpnode.Result as JSON) is returned on
// success, on skip and with onFailure "continue"; with "abort" a failed node
// fails the workflow with an ApplicationError of the failure's type whose
// details hold the Result.
func HTTPNode(ctx workflow.Context, input json.RawMessage, state *State) (*httpnode.Result, error) {
	// Long waits are made here (see errParked), and the result is returned
	// by pointer: a waiting node's stack stays small.
	r, err := newNodeRun(ctx, input, state)
	if err != nil {
		return nil, err
	}
	ctx, ended, err := r.start(ctx)
	for !ended {
		if err = r.run(ctx); err != errParked {
			break
		}
		r.parkErr = r.parked.Get(ctx, nil) // the long wait, made here
	}
	return r.res, err
}

// newDecodeRules versions the refusal of nodes that give a field twice,
// nest too deeply or are too large (see ValidationError.NewRulesOnly); only
// such nodes ask for the version, so other nodes' histories carry no
// marker for it.
const newDecodeRules = "refuse-duplicate-fields"

// errParked is returned up the chain by a step that must wait long (the
// next poll's timer, the retry interval): HTTPNode makes the wait on
// r.parked, and the step resumes from r's state when run is called again. A
// waiting node's coroutine then keeps one small frame of ours above the
// SDK's, and its stack stays at its smallest size: memory per waiting node.
var errParked = errors.New("parked for a long wait")

// newNodeRun decodes the node, sets up the state of a new node run and the
// progress query.
func newNodeRun(ctx workflow.Context, input json.RawMessage, state *State) (*nodeRun, error) {
	node, err := httpnode.Decode(input)
	var verr *httpnode.ValidationError
	if errors.As(err, &verr) && verr.NewRulesOnly() && workflow.GetVersion(ctx, newDecodeRules, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		err = nil // started before these rules: it runs as it did then (a field given twice: the last wins)
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("node refused: invalid", "error", err.Error())
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidNode, nil)
	}
	info := workflow.GetInfo(ctx)
	if state != nil && !state.trusted(info) {
		if info.ContinuedExecutionRunID == "" {
			return nil, temporal.NewNonRetryableApplicationError("HTTPNode takes one input, the node: a second input is the state a node carries across continue-as-new, and cannot be given when a node is started (start it with the node alone)", httpnode.ErrInvalidNode, nil)
		}
		state = nil // a cron run or a workflow retry: the node runs anew
	}
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
	if cb := r.node.Callback; cb != nil && cb.Pushed() { // other nodes answer a callback as an unknown update
		if err := workflow.SetUpdateHandlerWithOptions(ctx, CallbackUpdate, r.onCallback, workflow.UpdateHandlerOptions{Validator: r.validateCallback}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// start begins the node: skip, the node timeout, rendering. ended is true
// when the node ended already; its result is in r.res, as every step leaves
// it, and err is the workflow's.
func (r *nodeRun) start(ctx workflow.Context) (_ workflow.Context, ended bool, err error) {
	if r.node.RunStatus == httpnode.RunSkip {
		return ctx, true, r.skip(ctx)
	}
	ctx, ended, err = r.startTimeout(ctx)
	if ended {
		return ctx, true, err
	}
	ended, err = r.renderOnce(ctx)
	return ctx, ended, err
}

// skip ends a node with runStatus "skip": nothing is sent, but a
// notification is (its request rendered like the others).
func (r *nodeRun) skip(ctx workflow.Context) error {
	if r.node.Notify != nil {
		if ended, err := r.renderOnce(ctx); ended {
			return err
		}
	}
	return r.finish(ctx, httpnode.StatusSkipped, nil)
}

// startTimeout starts the node timeout's timer, which cancels the returned
// context when it fires; ended is true when the timeout has passed already.
func (r *nodeRun) startTimeout(ctx workflow.Context) (workflow.Context, bool, error) {
	if r.st.Deadline.IsZero() {
		return ctx, false, nil // no context of its own: memory saved per waiting node
	}
	remaining := r.st.Deadline.Sub(workflow.Now(ctx))
	if remaining <= 0 {
		return ctx, true, r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
	}
	ctx, cancel := workflow.WithCancel(ctx)
	timerCtx, stopTimer := workflow.WithCancel(ctx)
	r.stopTimer = stopTimer
	workflow.Go(timerCtx, func(gctx workflow.Context) {
		timer := workflow.NewTimerWithOptions(gctx, remaining, workflow.TimerOptions{Summary: "node timeout " + r.node.Timeout.String()})
		if timer.Get(gctx, nil) == nil {
			r.timedOut = true
			cancel()
		}
	})
	return ctx, false, nil
}

// renderOnce renders the node into the state, unless it was (a run before
// continue-as-new) or has nothing to render; ended is true when the node
// ends instead (timeout, cancel, a rendering problem).
func (r *nodeRun) renderOnce(ctx workflow.Context) (ended bool, err error) {
	if r.st.Rendered != nil {
		return false, nil
	}
	if !r.node.NeedsRender() {
		r.st.Rendered = unrendered(r.node)
		return false, nil
	}
	rendered, err := r.render(ctx, workflow.GetInfo(ctx))
	if err != nil {
		return true, r.ended(ctx, err)
	}
	r.st.Rendered = &rendered
	return false, nil
}

// ended finishes a node whose step failed with err: timed out, cancelled,
// or failed.
func (r *nodeRun) ended(ctx workflow.Context, err error) error {
	switch {
	case r.timedOut:
		return r.finish(ctx, httpnode.StatusTimedOut, r.timeoutError())
	case ctx.Err() != nil:
		return r.finish(ctx, httpnode.StatusCancelled, cancelledError()) // cancelled from outside
	}
	return r.finish(ctx, httpnode.StatusFailed, toError(err))
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
	out := &httpnode.Rendered{Request: n.Request, Cancel: n.Cancel}
	if n.Callback != nil {
		out.Callback = &n.Callback.Request
	}
	if n.Notify != nil {
		out.Notify = &n.Notify.Request
	}
	return out
}

// nodeRun is one workflow run of a node.
type nodeRun struct {
	node      httpnode.Node // defaults applied
	input     json.RawMessage
	st        *State
	progress  Progress
	res       *httpnode.Result // the node's result, once it ended
	timedOut  bool
	done      bool   // the node is finishing: no callback is applied any more
	stopTimer func() // cancels the node timeout timer, so no timer outlives the node
	// A parked long wait (see errParked), and the attempt's poll and polls
	// in this run, kept across it.
	parked   workflow.Future
	parkErr  error
	retrying bool // parked on the wait before the next attempt
	check    *pollCheck
	runPolls int
}

// run runs the attempts until one succeeds, the retries run out, or the
// node times out or is cancelled. An attempt sends the main request (unless
// a previous run already did) and waits for the job's final status the
// callback's way.
func (r *nodeRun) run(ctx workflow.Context) error {
	if r.retrying { // resumed after the retry wait
		if _, err := r.resume(); err != nil {
			return r.ended(ctx, err)
		}
		r.retrying = false
		r.nextAttempt()
	}
	done, err := false, error(nil)
	if cur := &r.st.Current; !cur.Waiting && cur.StatusURL == "" {
		done, err = r.sendMain(ctx)
	}
	// the wait, the callback's way (called from here: one frame less
	// kept by a waiting node)
	switch {
	case done || err != nil:
	case r.node.Callback.Mode == httpnode.ModeActivity:
		err = r.waitInActivity(ctx)
	case r.node.Callback.Pushed():
		err = r.waitPush(ctx)
	default: // timer, location
		err = r.waitPolling(ctx)
	}
	switch {
	case err == errParked:
		return err
	case err == nil:
		return r.finish(ctx, httpnode.StatusSucceeded, nil)
	case r.timedOut:
		return r.ended(ctx, err)
	case isContinueAsNew(err):
		return err
	case ctx.Err() != nil, toError(err).Type == httpnode.ErrInvalidNode: // a retry cannot help an invalid node
		return r.ended(ctx, err)
	}
	return r.retryWait(ctx, err)
}

// retryWait records a failed attempt and parks on the wait before the next
// one (run resumes it), or ends the node when the retries are used up.
func (r *nodeRun) retryWait(ctx workflow.Context, attemptErr error) error {
	failure := r.recordFailure(ctx, attemptErr)
	if r.st.Attempt > *r.node.Retry.Count {
		return r.finish(ctx, httpnode.StatusFailed, failure)
	}
	interval := r.node.Retry.Interval.D()
	next := workflow.Now(ctx).Add(interval)
	r.progress = Progress{Phase: PhaseRetryWait, Attempt: r.st.Attempt, NextTryTime: &next, LastError: failure}
	workflow.GetLogger(ctx).Info("attempt failed; retrying", "attempt", r.st.Attempt, "errorType", failure.Type, "retryIn", interval.String())
	summary := fmt.Sprintf("retry %d of %d", r.st.Attempt, *r.node.Retry.Count)
	r.retrying = true
	return r.park(workflow.NewTimerWithOptions(ctx, interval, workflow.TimerOptions{Summary: summary}))
}

// park leaves a long wait on f to HTTPNode (see errParked).
func (r *nodeRun) park(f workflow.Future) error {
	r.parked = f
	return errParked
}

// resume takes the outcome of the parked wait: ok is false when nothing
// was parked (the step starts its wait), else err is how the wait ended.
func (r *nodeRun) resume() (ok bool, err error) {
	if r.parked == nil {
		return false, nil
	}
	err = r.parkErr
	r.parked, r.parkErr = nil, nil
	return true, err
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
	r.check, r.runPolls = nil, 0
}

// sendMain sends the main request and, for a node with a callback, reads the
// task id and builds the status URL; done is true for a node without one.
func (r *nodeRun) sendMain(ctx workflow.Context) (done bool, err error) {
	cur := &r.st.Current
	r.progress = Progress{Phase: PhaseRequest, Attempt: r.st.Attempt}
	if r.st.SentTime.IsZero() {
		r.st.SentTime = workflow.Now(ctx)
	}
	req, err := httpnode.RenderRequest("request", r.st.Rendered.Request, r.attemptVars())
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil)
	}
	actx := workflow.WithActivityOptions(ctx, activityOptions(req, req.Method+" "+httpnode.RedactURL(req.URL), RequestTries))
	out := &activities.SendRequestOutput{}
	err = workflow.ExecuteActivity(actx, a.SendRequest, activities.SendRequestInput{
		Request: req, IdempotencyKey: r.st.idempotencyKey(), Secrets: r.st.Rendered.SecretUses(),
	}).Get(ctx, out)
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
	if err == nil && len(taskID) > httpnode.MaxTaskIDBytes {
		err = fmt.Errorf("the task id at %q is %d bytes, more than the %d a task id may have", cb.TaskIDField, len(taskID), httpnode.MaxTaskIDBytes)
		taskID = ""
	}
	switch cb.Mode {
	case httpnode.ModeLocation:
		loc := out.Response.Headers["Location"]
		if out.Response.StatusCode != http.StatusAccepted || loc == "" {
			return true, nil // the remote answered at once
		}
		statusURL, err := resolveLocation(req.URL, loc)
		if err != nil {
			return false, temporal.NewNonRetryableApplicationError("request: the 202 response's Location "+err.Error(), httpnode.ErrCallbackResponse, nil)
		}
		cur.TaskID, cur.StatusURL = taskID, statusURL
		cur.NextHint = httpnode.Duration(httpnode.ParseRetryAfter(out.Response.Headers["Retry-After"], workflow.Now(ctx)))
		r.startWaiting(ctx)
		return false, nil
	case httpnode.ModePush:
		cur.TaskID = taskID // optional: the push says when the job is done
		r.startWaiting(ctx)
		return false, nil
	}
	if err != nil {
		hint := " (set callback.taskIdField to the field that holds the task id)"
		if out.Response.Truncated {
			hint = out.Response.CutHint("request")
		}
		return false, temporal.NewNonRetryableApplicationError("request: no task id in the main response: "+err.Error()+hint+out.Response.Excerpt(), httpnode.ErrMissingTaskID, nil)
	}
	statusURL, err := httpnode.StatusURL(r.st.Rendered.Callback.URL, taskID)
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError("callback.url: "+err.Error(), httpnode.ErrMissingTaskID, nil)
	}
	cur.TaskID, cur.StatusURL = taskID, statusURL
	r.startWaiting(ctx)
	return false, nil
}

// startWaiting marks the main request done and the wait begun.
func (r *nodeRun) startWaiting(ctx workflow.Context) {
	r.st.Current.Waiting = true
	r.st.Current.PollDeadline = workflow.Now(ctx).Add(r.node.Callback.Deadline.D())
}

// resolveLocation resolves a Location header against the request's URL.
func resolveLocation(base, loc string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u, err := b.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an http(s) URL", httpnode.RedactURL(loc))
	}
	return u.String(), nil
}

// pollCheck is one attempt's poll: what CheckStatus is given, and the
// seed of its jitter.
type pollCheck struct {
	in   activities.CheckStatusInput
	seed string
}

// target names the n-th poll and what it asks, for Temporal Web.
func (c *pollCheck) target(n int) string {
	return fmt.Sprintf("poll %d: %s %s", n, c.in.Request.Method, httpnode.RedactURL(c.in.Request.URL))
}

// pollCheck renders the attempt's poll request: the callback's fields with
// ${taskId}, at the status URL (or Location, keeping the main request's auth
// on its origin).
func (r *nodeRun) pollCheck() (*pollCheck, error) {
	cb, cur := r.node.Callback, &r.st.Current
	vars := r.attemptVars()
	vars.Builtins["taskId"] = cur.TaskID
	poll, err := httpnode.RenderRequest("callback", *r.st.Rendered.Callback, vars)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), httpnode.ErrInvalidParameter, nil)
	}
	poll.URL = cur.StatusURL
	c := &pollCheck{
		in:   activities.CheckStatusInput{StatusField: cb.StatusField, Pending: cb.Pending, Success: cb.Success, IntervalField: cb.IntervalField},
		seed: r.st.KeySeed + "/" + strconv.Itoa(r.st.Attempt),
	}
	if cb.Mode == httpnode.ModeLocation {
		main := r.st.Rendered.Request
		c.in.Location, poll.SuccessStatus = true, main.SuccessStatus
		if poll.Auth == nil && sameOrigin(main.URL, poll.URL) {
			poll.Auth = main.Auth
		}
	}
	c.in.Request = poll
	return c, nil
}

// sameOrigin reports whether two URLs share scheme, host and port.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

// waitPolling polls on a durable timer until a final status, a budget runs
// out, or the run has made enough polls to continue as new.
func (r *nodeRun) waitPolling(ctx workflow.Context) error {
	if r.check == nil {
		check, err := r.pollCheck()
		if err != nil {
			return err
		}
		r.check = check
	}
	for {
		resumed, err := r.resume()
		if !resumed {
			wait, err := r.nextWait(ctx, r.check, r.runPolls)
			if err != nil {
				return err
			}
			// Temporal Web shows a local activity by its type only: the
			// timer before each poll names the poll and its target.
			return r.park(workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "wait, then " + r.check.target(r.st.Current.Polls+1)}))
		}
		if err != nil {
			return err
		}
		r.runPolls++
		if done, err := r.pollOnce(ctx, r.check); done || err != nil {
			return err
		}
	}
}

// nextWait is the wait before the next poll, or the error that ends the
// wait: a budget ran out, or the run continues as new.
func (r *nodeRun) nextWait(ctx workflow.Context, check *pollCheck, runPolls int) (time.Duration, error) {
	cb, cur := r.node.Callback, &r.st.Current
	wait, errType, msg := cb.BeforePoll(cur.PollState, workflow.Now(ctx), cur.PollDeadline, check.seed)
	if errType != "" {
		return 0, temporal.NewNonRetryableApplicationError(msg, errType, nil)
	}
	if cb.Polled() && (runPolls >= cb.PollsPerRun || (runPolls > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested())) {
		workflow.GetLogger(ctx).Info("continuing as new", "polls", cur.Polls, "attempt", r.st.Attempt)
		r.st.ContinuedFrom = workflow.GetInfo(ctx).WorkflowExecution.RunID
		r.st.fitBudget()
		return 0, workflow.NewContinueAsNewError(ctx, HTTPNodeName, r.input, r.st)
	}
	if cb.Mode == httpnode.ModePush {
		wait = cur.PollDeadline.Sub(workflow.Now(ctx)) // BeforePoll fails the attempt once it passed
	}
	r.setWaiting(workflow.Now(ctx).Add(wait))
	return wait, nil
}

// setWaiting is the progress while waiting for the next poll.
func (r *nodeRun) setWaiting(next time.Time) {
	cur := &r.st.Current
	r.progress = Progress{Phase: PhaseWaiting, Attempt: r.st.Attempt, Polls: cur.Polls, Pushes: cur.Pushes, LastStatus: cur.LastStatus, TaskID: cur.TaskID, NextPollTime: &next, Stuck: cur.Stuck}
	if r.node.Callback.Mode == httpnode.ModePush { // no poll: the wait ends at the deadline
		r.progress.NextPollTime, r.progress.PushDeadline = nil, &next
	}
	if cur.Stuck {
		r.progress.StatusSince = &cur.StatusSince
	}
}

// pollOnce runs one poll as a local activity: it runs in the workflow task
// the timer wakes, so a poll costs 6 history events instead of 11. done is
// true when the remote status is final (err says how it failed).
func (r *nodeRun) pollOnce(ctx workflow.Context, check *pollCheck) (done bool, err error) {
	cur := &r.st.Current
	ao := activityOptions(check.in.Request, check.target(cur.Polls+1), PollTries)
	pctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: ao.StartToCloseTimeout, RetryPolicy: ao.RetryPolicy, Summary: ao.Summary,
	})
	out := &activities.CheckStatusOutput{}
	err = workflow.ExecuteLocalActivity(pctx, a.CheckStatus, check.in).Get(ctx, out)
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
	return true, temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, out.Status, out.Response), httpnode.ErrCallbackStatus, nil)
}

// waitInActivity polls inside one heartbeating activity: no history event
// per poll, at the cost of per-poll visibility (the activity's heartbeat
// shows the last status) and of an activity slot held for the whole wait.
func (r *nodeRun) waitInActivity(ctx workflow.Context) error {
	pc, err := r.pollCheck()
	if err != nil {
		return err
	}
	cb, cur, check := r.node.Callback, &r.st.Current, &pc.in
	r.progress = Progress{Phase: PhaseWaiting, Attempt: r.st.Attempt, Polls: cur.Polls, LastStatus: cur.LastStatus, TaskID: cur.TaskID}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: max(cur.PollDeadline.Sub(workflow.Now(ctx)), 0) + cb.Timeout.D() + time.Minute,
		HeartbeatTimeout:    activities.PollHeartbeatTimeout,
		// a lost worker or a transient poll failure resumes from the last heartbeat
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
		Summary:     fmt.Sprintf("poll until final: %s %s", check.Request.Method, httpnode.RedactURL(check.Request.URL)),
	})
	var out activities.PollUntilDoneOutput
	err = workflow.ExecuteActivity(actx, a.PollUntilDone, activities.PollUntilDoneInput{
		Check: *check, Callback: *cb, Seed: pc.seed, Deadline: cur.PollDeadline, State: cur.PollState, TaskID: cur.TaskID,
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
	return temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, out.Last.Status, out.Last.Response), httpnode.ErrCallbackStatus, nil)
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

func cancelledError() *httpnode.Error {
	return &httpnode.Error{Type: httpnode.ErrCancelled, Message: "node: cancelled"}
}

func (r *nodeRun) timeoutError() *httpnode.Error {
	return &httpnode.Error{Type: httpnode.ErrNodeTimeout, Message: fmt.Sprintf("node: timeout %s passed during attempt %d", r.node.Timeout, r.st.Attempt)}
}

func activityOptions(req httpnode.Request, summary string, tries int32) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		// The HTTP client enforces the per-try timeout; the margin covers
		// building the request and reading the body.
		StartToCloseTimeout: req.Timeout.D() + 10*time.Second,
		// the activity heartbeats while its request is in flight: a try lost
		// with its worker is retried within this (a local activity has none)
		HeartbeatTimeout: activities.RequestHeartbeatTimeout,
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
