package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
)

// The wait for the job's end, the callback's way: polls on durable timers
// (timer, location), pushed statuses (push, and push+poll with polls as a
// safety net), or one activity that polls (activity). nextWait says what
// to wait for next, HTTPNode waits, and afterWait goes on from there.

// pollCheck is one attempt's poll: what CheckStatus is given, and the
// seed of its jitter.
type pollCheck struct {
	in   activities.CheckStatusInput
	seed string
}

// target names the n-th poll and what it asks, for Temporal Web.
func (c *pollCheck) target(n int) string {
	r := c.in.Request.Request()
	return fmt.Sprintf("poll %d: %s %s", n, r.Method, httpnode.RedactURL(r.URL))
}

// pollCheck is the attempt's poll: the callback's request at the status
// URL (or Location), with the rules that judge its answer.
func (r *nodeRun) pollCheck() (*pollCheck, error) {
	cb, cur := r.node.Callback, &r.st.Current
	poll, err := r.attempt().Poll(cur.TaskID, cur.StatusURL, cb.Mode == httpnode.ModeLocation)
	if err != nil {
		return nil, invalidParameter(err)
	}
	return &pollCheck{
		in: activities.CheckStatusInput{Request: poll, StatusField: cb.StatusField, Pending: cb.Pending, Success: cb.Success,
			IntervalField: cb.IntervalField, Location: cb.Mode == httpnode.ModeLocation,
			PendingWhen: cb.PendingWhen, Judged: cb.Judged(), Outputs: r.node.Outputs,
			Vars: activities.PollVars{WaitSince: cur.PollDeadline.Add(-cb.Deadline.D())}},
		seed: r.st.KeySeed + "/" + strconv.Itoa(r.st.Attempt),
	}, nil
}

// nextWait is the attempt's next long wait, or the error that ends its wait
// (a budget ran out, the run continues as new); neither when a pushed final
// status has ended the wait already.
func (r *nodeRun) nextWait(ctx workflow.Context) (*wait, error) {
	if r.check == nil {
		check, err := r.pollCheck()
		if err != nil {
			return nil, err
		}
		r.check = check
	}
	cb, cur := r.node.Callback, &r.st.Current
	switch {
	case cb.Mode == httpnode.ModeActivity:
		return r.activityWait(ctx), nil
	case cb.Mode == httpnode.ModeRetry:
		return r.retryWait(ctx), nil
	case cb.Pushed() && cur.Pushed != nil:
		return nil, r.pushed()
	}
	d, err := r.pollWait(ctx)
	if err != nil {
		return nil, err
	}
	if cb.Pushed() {
		summary := "wait for the pushed callback"
		if cb.Mode == httpnode.ModePushPoll {
			summary += ", then " + r.check.target(cur.Polls+1)
		}
		return &wait{until: func() bool { return cur.Pushed != nil }, await: workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: summary}}}, nil
	}
	// Temporal Web shows a local activity by its type only: the timer
	// before each poll names the poll and its target.
	return timerWait(ctx, d, "wait, then "+r.check.target(cur.Polls+1)), nil
}

// afterWait goes on from the wait w, which ended with err: it polls, takes
// a pushed status, or takes the outcome of an activity-mode wait. The
// attempt's wait is over when State.Current.Waiting is false, or err is not
// nil.
func (r *nodeRun) afterWait(ctx workflow.Context, w *wait, err error) error {
	if out, ok := w.out.(*activities.PollUntilDoneOutput); ok {
		return r.polledInActivity(ctx, out, err)
	}
	if err != nil {
		return err // cancelled, or timed out
	}
	r.runPolls++
	cb := r.node.Callback
	switch {
	case cb.Pushed() && r.st.Current.Pushed != nil:
		return r.pushed()
	case cb.Mode == httpnode.ModePush:
		return nil // no poll: the deadline ends the wait at the next one
	}
	return r.pollOnce(ctx)
}

// pollWait is the time before the next poll, or the error that ends the
// wait: a budget ran out, or the run continues as new.
func (r *nodeRun) pollWait(ctx workflow.Context) (time.Duration, error) {
	cb, cur := r.node.Callback, &r.st.Current
	wait, errType, msg := cb.BeforePoll(cur.PollState, workflow.Now(ctx), cur.PollDeadline, r.check.seed)
	if errType != "" {
		return 0, temporal.NewNonRetryableApplicationError(msg, errType, nil)
	}
	if cb.Polled() && (r.runPolls >= cb.PollsPerRun || (r.runPolls > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested())) {
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
// the timer wakes, so a poll costs 6 history events instead of 11. A final
// status ends the wait (err says how it failed).
func (r *nodeRun) pollOnce(ctx workflow.Context) error {
	cur, check := &r.st.Current, r.check
	ao := activityOptions(check.in.Request.Request(), check.target(cur.Polls+1), PollTries)
	pctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: ao.StartToCloseTimeout, RetryPolicy: ao.RetryPolicy, Summary: ao.Summary,
	})
	out := &activities.CheckStatusOutput{}
	in := check.in
	in.Vars.Poll = cur.Polls + 1
	err := workflow.ExecuteLocalActivity(pctx, a.CheckStatus, in).Get(ctx, out)
	cur.Polls++
	if err != nil {
		return err
	}
	cur.Observe(out.Status, out.NextInterval, workflow.Now(ctx))
	if out.Outcome == activities.OutcomePending {
		return r.checkStuck(ctx)
	}
	cur.CallbackResponse, cur.Waiting = out.Response, false
	if out.Outcome == activities.OutcomeSuccess {
		cur.Outputs = out.Outputs
		return nil
	}
	return temporal.NewNonRetryableApplicationError(r.node.Callback.FailedMessage(cur.TaskID, out.Status, out.Response), httpnode.ErrCallbackStatus, nil)
}

// activityWait polls inside one heartbeating activity: no history event
// per poll, at the cost of per-poll visibility (the activity's heartbeat
// shows the last status) and of an activity slot held for the whole wait.
func (r *nodeRun) activityWait(ctx workflow.Context) *wait {
	in, bound, poll := r.waitInActivity(ctx)
	_, heartbeatTimeout := httpnode.PollHeartbeat(in.Callback.Interval.D())
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           WaitsQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout: bound,
		HeartbeatTimeout:    heartbeatTimeout,
		// a lost worker or a transient poll failure resumes from the last heartbeat
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
		Summary:     "poll until final: " + poll,
	})
	return &wait{future: workflow.ExecuteActivity(actx, a.PollUntilDone, in), out: &activities.PollUntilDoneOutput{}}
}

// retryWait polls by the retries of one activity (see
// activities.PollByRetry): no history event per poll and no slot held
// between polls; describe shows the polls so far and the last status in the
// pending activity's attempt and last failure.
func (r *nodeRun) retryWait(ctx workflow.Context) *wait {
	in, bound, poll := r.waitInActivity(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// the budgets end the wait first (PollDeadlineExceeded); this only bounds it
		ScheduleToCloseTimeout: bound,
		StartToCloseTimeout:    in.Callback.Timeout.D() + 30*time.Second,
		// every retry's delay is the try's NextRetryDelay: the node's next wait
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 1},
		Summary:     "poll by retries: " + poll,
	})
	return &wait{future: workflow.ExecuteActivity(actx, a.PollByRetry, in), out: &activities.PollUntilDoneOutput{}}
}

// waitInActivity is the input of a wait made by one activity (activity and
// retry modes), the bound of its whole length (the poll deadline, and a
// poll's timeout with some slack), and its poll for the summary; the
// progress says the node waits.
func (r *nodeRun) waitInActivity(ctx workflow.Context) (in activities.PollUntilDoneInput, bound time.Duration, poll string) {
	cb, cur, check := r.node.Callback, &r.st.Current, &r.check.in
	r.progress = Progress{Phase: PhaseWaiting, Attempt: r.st.Attempt, Polls: cur.Polls, LastStatus: cur.LastStatus, TaskID: cur.TaskID}
	in = activities.PollUntilDoneInput{
		Check: *check, Callback: *cb, Seed: r.check.seed, Deadline: cur.PollDeadline, State: cur.PollState, TaskID: cur.TaskID, PollTries: PollTries,
	}
	sent := check.Request.Request()
	return in, max(cur.PollDeadline.Sub(workflow.Now(ctx)), 0) + cb.Timeout.D() + time.Minute, sent.Method + " " + httpnode.RedactURL(sent.URL)
}

// polledInActivity takes the outcome of an activity-mode wait: out, or
// err (whose details carry the polls so far).
func (r *nodeRun) polledInActivity(ctx workflow.Context, out *activities.PollUntilDoneOutput, err error) error {
	cur := &r.st.Current
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&cur.PollState)
		}
		return err
	}
	cur.PollState, cur.CallbackResponse, cur.Waiting = out.State, out.Last.Response, false
	if cur.Stuck && r.st.Rendered.StuckAttribute {
		if err := workflow.UpsertTypedSearchAttributes(ctx, stuckAttribute.ValueSet(true)); err != nil {
			return err
		}
	}
	if out.Last.Outcome == activities.OutcomeSuccess {
		cur.Outputs = out.Last.Outputs
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
