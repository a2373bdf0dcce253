package httpnode

import (
	"slices"
)

// validate checks the callback: its mode against its URL and the main
// request, its request, intervals, budgets, fields and status lists.
func (cb *Callback) validate(main Request, errs *[]FieldError) {
	add := adder(errs)
	switch {
	case cb.URL == "" && (cb.Mode == "" || cb.Mode == ModeTimer || cb.Mode == ModeActivity || cb.Mode == ModeRetry || cb.Mode == ModeAuto):
		add("callback.url", "is required when callback is set (the status URL; the task id is appended to it)")
	case cb.URL == "" && cb.Mode == ModePushPoll:
		add("callback.url", "is required with mode \"push+poll\" (the status URL polled as a safety net; use mode \"push\" to rely on the push alone)")
	case cb.URL != "" && cb.Mode == ModePush:
		add("callback.url", "is not polled with mode \"push\" (use mode \"push+poll\" to poll it as a safety net, or leave it out)")
	case cb.URL != "" && cb.Mode == ModeLocation:
		add("callback.url", "is not used with mode \"location\" (the main response's Location header is polled)")
	}
	if cb.Pushed() && !main.Mentions(CallbackURLRef) {
		add("callback.mode", "%q needs the remote to learn where to call back: put ${callbackUrl} in request.body, request.query or request.headers", cb.Mode)
	}
	if !slices.Contains([]string{"", ModeTimer, ModeActivity, ModeRetry, ModeAuto, ModePush, ModePushPoll, ModeLocation}, cb.Mode) {
		add("callback.mode", "%q is not allowed (use \"timer\", \"activity\", \"retry\", \"auto\", \"push\", \"push+poll\" or \"location\")", cb.Mode)
	}
	validateRequest("callback", cb.Request, refRule{secrets: true, taskID: true}, errs)
	validateRules("callback", cb.Request, errs)
	if cb.PendingWhen != "" {
		checkExprText("callback.pendingWhen", cb.PendingWhen, true, errs)
	}
	if cb.Judged() && (len(cb.Pending) > 0 || len(cb.Success) > 0) {
		add("callback.pending", "pending and success lists and the rules pendingWhen / successWhen are two ways to judge a poll: use one (e.g. successWhen: \"body.state == 'DONE'\")")
	}
	if (cb.Judged() || len(cb.FailWhen) > 0) && cb.Mode == ModeLocation {
		add("callback.successWhen", "successWhen, pendingWhen and failWhen are not used in mode %q: location mode judges a 202's operation by its status code (use request.successStatus)", cb.Mode)
	}
	cb.validateIntervals(errs)
	if cb.StuckAfterPolls < 0 || cb.StuckAfter < 0 {
		add("callback.stuckAfterPolls", "stuckAfterPolls and stuckAfter must not be negative (0 turns stuck detection off)")
	}
	if cb.FailWhenStuck && cb.StuckAfterPolls == 0 && cb.StuckAfter == 0 {
		add("callback.failWhenStuck", "needs stuckAfterPolls or stuckAfter to say when a node is stuck")
	}
	if cb.MaxPolls < 0 {
		add("callback.maxPolls", "must not be negative (0 means no count limit)")
	}
	if cb.Deadline < 0 {
		add("callback.deadline", "must not be negative")
	}
	if cb.PollsPerRun < 0 || cb.PollsPerRun > MaxPollsPerRun {
		add("callback.pollsPerRun", "%d is out of range (use 1 to %d, so that no workflow run exceeds 2,000 history events)", cb.PollsPerRun, MaxPollsPerRun)
	}
	for _, f := range []struct{ path, v, example string }{
		{"callback.taskIdField", cb.TaskIDField, `"taskId" or "data.job.id"`}, {"callback.statusField", cb.StatusField, `"taskId" or "data.job.id"`},
		{"callback.intervalField", cb.IntervalField, `"retryAfterSeconds"`}, {"callback.pushStatusField", cb.PushStatusField, `"status" or "JobsDetail.State"`},
	} {
		if f.v != "" && !validPath(f.v) {
			add(f.path, "%q is not a dotted path (use e.g. %s)", f.v, f.example)
		}
	}
	for _, s := range cb.Pending {
		if slices.Contains(cb.Success, s) {
			add("callback.pending", "%q is also in callback.success (a status is either pending or success)", s)
		}
	}
}

// validateIntervals checks the waits between polls against the mode's
// floor and each other.
func (cb *Callback) validateIntervals(errs *[]FieldError) {
	add := adder(errs)
	floor, why := cb.minInterval(), "Temporal timers fire no sooner; for faster polls use mode \"activity\""
	if cb.Mode == ModeActivity {
		why = "the floor of activity mode"
	}
	if cb.Interval != 0 && cb.Interval.D() < floor {
		add("callback.interval", "%s is below the minimum of %s (%s)", cb.Interval, floor, why)
	}
	if !slices.Contains([]string{"", BackoffFixed, BackoffLinear, BackoffExponential}, cb.Backoff) {
		add("callback.backoff", "%q is not allowed (use \"fixed\", \"linear\" or \"exponential\")", cb.Backoff)
	}
	if cb.MinInterval != 0 && cb.MinInterval.D() < floor {
		add("callback.minInterval", "%s is below the minimum of %s (%s)", cb.MinInterval, floor, why)
	}
	if cb.MaxInterval != 0 && (cb.MaxInterval < cb.Interval || (cb.MinInterval != 0 && cb.MaxInterval < cb.MinInterval)) {
		add("callback.maxInterval", "%s is below callback.interval or callback.minInterval", cb.MaxInterval)
	}
}
