package httpnode

import (
	"fmt"
	"slices"
	"time"
)

// Callback modes.
const (
	ModeTimer    = "timer"     // a durable timer, then a local activity per poll (default)
	ModeActivity = "activity"  // every poll inside one heartbeating activity
	ModeRetry    = "retry"     // one activity whose retries are the polls
	ModePush     = "push"      // the remote POSTs the final status to ${callbackUrl}; no polls
	ModePushPoll = "push+poll" // push, with polls at callback.interval as a safety net
	ModeLocation = "location"  // a 202 Accepted main response is polled at its Location
	ModeAuto     = "auto"      // timer, activity or retry, picked by AutoMode
)

// An activity-mode wait heartbeats its PollState when the remote status
// changes and otherwise once per period, derived from the poll interval:
// the interval, within [MinPollHeartbeat, MaxPollHeartbeat]. A waiting node
// so costs the server one call per period, what `describe` shows of it is
// at most one period old, and a lost worker's wait is taken up again, from
// its last heartbeat, after the heartbeat timeout: the period and
// pollHeartbeatSlack.
const (
	MinPollHeartbeat   = 10 * time.Second
	MaxPollHeartbeat   = time.Minute
	pollHeartbeatSlack = 10 * time.Second
)

// PollHeartbeat is the heartbeat period and heartbeat timeout of a wait in
// activity mode that polls every interval.
func PollHeartbeat(interval time.Duration) (every, timeout time.Duration) {
	every = min(max(interval, MinPollHeartbeat), MaxPollHeartbeat)
	return every, every + pollHeartbeatSlack
}

// DefaultWaitModes are the modes a worker may wait in for a callback that
// names none (worker --default-wait-mode).
var DefaultWaitModes = []string{ModeTimer, ModeActivity, ModeRetry, ModeAuto}

// DefaultWaitModeUsage is the help of --default-wait-mode, the worker's
// option and starter validate's.
const DefaultWaitModeUsage = "how a node whose callback names no mode waits: timer, activity, retry or auto (HTTPNODE_DEFAULT_WAIT_MODE)"

// CheckDefaultWaitMode checks a worker's default wait mode.
func CheckDefaultWaitMode(mode string) error {
	if !slices.Contains(DefaultWaitModes, mode) {
		return fmt.Errorf("%q is not a way to wait for a callback that names none (use timer, activity, retry or auto)", mode)
	}
	return nil
}

// The Temporal server's CPU time per poll of each way to wait, as
// measured on the reference server (2 cores, a SQLite store; go run ./bench
// --server-cost 200: 200 nodes × 40 polls every 1 s, 2 rounds, each way's
// share of starting and ending a node included). starter validate
// estimates a wait's cost from them, and auto mode picks by them.
const (
	ServerCPUTimerPoll = 9800 * time.Microsecond // a timer, a workflow task and a local activity's marker (9.1–10.6 ms)
	ServerCPURetryTry  = 6400 * time.Microsecond // one try of retry mode's activity (6.35–6.5 ms)
	ServerCPUHeartbeat = 3300 * time.Microsecond // one heartbeat of an activity (3.3–3.35 ms)
)

// AutoTimerPolls: a wait of at most this many polls (maxPolls, or the
// deadline over the interval) waits in timer mode in auto mode: each poll
// is in history, at about what starting a waiting activity costs.
const AutoTimerPolls = 2

// AutoRetryFrom is auto mode's crossover: polls this far apart, or more,
// wait in retry mode, one activity try a poll and no worker slot held
// between polls; closer polls wait in activity mode, one heartbeat per
// PollHeartbeat period (at most MaxPollHeartbeat) whatever the polls.
// From here on, the tries cost the server less an hour than the
// heartbeats.
func AutoRetryFrom() time.Duration {
	return (MaxPollHeartbeat * ServerCPURetryTry / ServerCPUHeartbeat).Round(time.Second)
}

// AutoMode is the way auto mode waits for c (defaults applied): timer
// for a wait of at most AutoTimerPolls polls, else retry when the interval
// it mostly waits (Interval, or MaxInterval with linear or exponential
// backoff) is at least AutoRetryFrom, else activity.
func (c Callback) AutoMode() string {
	every := c.Interval.D()
	polls := int(c.Deadline.D() / max(every, time.Second))
	if c.MaxPolls > 0 {
		polls = min(polls, c.MaxPolls)
	}
	if c.Backoff != "" && c.Backoff != BackoffFixed {
		every = max(every, c.MaxInterval.D())
	}
	switch {
	case polls <= AutoTimerPolls:
		return ModeTimer
	case every >= AutoRetryFrom():
		return ModeRetry
	}
	return ModeActivity
}

// Outcomes of a remote status.
const (
	OutcomePending = "pending"
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Judge says what a remote status means: pending keeps waiting, success
// ends the attempt well, anything else fails it.
func Judge(pending, success []string, status string) string {
	switch {
	case slices.Contains(pending, status):
		return OutcomePending
	case slices.Contains(success, status):
		return OutcomeSuccess
	}
	return OutcomeFailure
}

// Judged reports whether the callback's polls are judged by rules
// (pendingWhen, successWhen) rather than by the Pending and Success lists.
func (c Callback) Judged() bool { return c.PendingWhen != "" || c.SuccessWhen != "" }

// Pushed reports whether the remote is given a callback URL to push to.
func (c Callback) Pushed() bool { return c.Mode == ModePush || c.Mode == ModePushPoll }

// Polled reports whether the callback URL (or Location) is polled.
func (c Callback) Polled() bool { return c.Mode != ModePush }

// PollState is the progress of one attempt's polling: carried across
// continue-as-new (timer mode) and in heartbeats (activity mode).
type PollState struct {
	Polls      int    `json:"polls,omitempty"`
	LastStatus string `json:"lastStatus,omitempty"`
	// NextHint is the last poll's hint for the next wait.
	NextHint Duration `json:"nextHint,omitempty"`
	// SamePolls counts the polls in a row that read LastStatus, since
	// StatusSince; Stuck is set once stuck detection fired.
	SamePolls   int       `json:"samePolls,omitempty"`
	StatusSince time.Time `json:"statusSince,omitzero"`
	Stuck       bool      `json:"stuck,omitempty"`
	// Failures counts the failed polls in a row (retry mode).
	Failures int `json:"failures,omitempty"`
	// LastPoll is when the last poll ended (activity mode): a wait resumed
	// on another worker polls when its next poll was due, not an interval
	// after it resumed.
	LastPoll time.Time `json:"lastPoll,omitzero"`
}

// Observe records one poll's remote status and interval hint, read at now.
func (p *PollState) Observe(status string, hint Duration, now time.Time) {
	if status != p.LastStatus || p.SamePolls == 0 {
		p.SamePolls, p.StatusSince = 0, now
	}
	p.SamePolls++
	p.LastStatus, p.NextHint = status, hint
}

// StuckNow reports whether the remote status has just been unchanged for
// longer than stuckAfterPolls / stuckAfter allow (false once flagged).
func (c Callback) StuckNow(p PollState, now time.Time) bool {
	unchanged := now.Sub(p.StatusSince)
	return !p.Stuck && ((c.StuckAfterPolls > 0 && p.SamePolls >= c.StuckAfterPolls) || (c.StuckAfter > 0 && unchanged >= c.StuckAfter.D()))
}

// StuckMessage is the failure message of a stuck job (failWhenStuck).
func (c Callback) StuckMessage(p PollState, taskID string, now time.Time) string {
	return fmt.Sprintf("callback: job %s has reported %q for %d polls (%s); it looks stuck", taskID, p.LastStatus, p.SamePolls, now.Sub(p.StatusSince))
}

// BeforePoll decides the wait before the next poll, or ends the attempt:
// errType and msg are set when maxPolls or the poll deadline would be passed.
func (c Callback) BeforePoll(p PollState, now, deadline time.Time, seed string) (wait time.Duration, errType, msg string) {
	if c.MaxPolls > 0 && p.Polls >= c.MaxPolls {
		return 0, ErrPollBudgetExceeded, fmt.Sprintf("callback: %d polls made without a final status (last status %q); raise callback.maxPolls or callback.interval", p.Polls, p.LastStatus)
	}
	from := now
	if !p.LastPoll.IsZero() { // a resumed wait polls when its next poll was due
		from = p.LastPoll
	}
	due := from.Add(c.NextWait(p.Polls+1, p.NextHint.D(), seed))
	if due.After(deadline) {
		return 0, ErrPollDeadlineExceeded, fmt.Sprintf("callback: no final status within callback.deadline %s (%d polls, last status %q)", c.Deadline, p.Polls, p.LastStatus)
	}
	return max(due.Sub(now), 0), "", ""
}

// FailedMessage is the failure message of a job that ended in a status
// that is not success: the status, those that would have succeeded (and
// kept waiting), and an excerpt of the response.
func (c Callback) FailedMessage(taskID, status string, r *Response) string {
	excerpt := ""
	if r != nil {
		excerpt = r.Excerpt()
	}
	return fmt.Sprintf("callback: job %s ended with status %q, which is not in callback.success %q (nor callback.pending %q)%s", taskID, status, c.Success, c.Pending, excerpt)
}
