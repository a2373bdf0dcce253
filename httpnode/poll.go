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
)

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
	wait = c.NextWait(p.Polls+1, p.NextHint.D(), seed)
	if now.Add(wait).After(deadline) {
		return 0, ErrPollDeadlineExceeded, fmt.Sprintf("callback: no final status within callback.deadline %s (%d polls, last status %q)", c.Deadline, p.Polls, p.LastStatus)
	}
	return wait, "", ""
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
