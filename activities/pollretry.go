package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// ErrStillPending is the error type of a retry-mode poll that read a
// pending status: its retry, after NextRetryDelay, is the next poll.
const ErrStillPending = "StillPending"

// PollByRetry is one try of a wait in retry mode, Temporal's way for
// infrequent polls: the activity's retry policy makes the polls, so a poll
// costs the server one activity dispatch, no history event, and no worker
// slot between polls. Its first try polls nothing: it fails with
// StillPending, NextRetryDelay the wait before the first poll. Each later
// try polls once; a pending status fails the try again, NextRetryDelay the
// node's next wait (interval, backoff, jitter, hints), its message saying
// the polls so far and the last status; a final status, or a
// budget that ran out, ends the activity as in activity mode. A poll that
// fails is retried PollTries times in a row.
//
// The polling state rides on the try number and on a heartbeat, which the
// next try reads: the heartbeat is recorded only when the state changes
// otherwise than by one more poll of the same status (a new status, an
// interval hint, a failed poll, stuck), so the common poll costs no
// heartbeat.
func (a *Activities) PollByRetry(ctx context.Context, in PollUntilDoneInput) (PollUntilDoneOutput, error) {
	attempt := 1
	if activity.IsActivity(ctx) {
		attempt = int(activity.GetInfo(ctx).Attempt)
	}
	return a.pollTry(ctx, in, retryState(in.State, savedState(ctx), attempt), attempt)
}

// pollTry is try attempt of PollByRetry, the polling state st.
func (a *Activities) pollTry(ctx context.Context, in PollUntilDoneInput, st httpnode.PollState, attempt int) (PollUntilDoneOutput, error) {
	if attempt == 1 {
		return PollUntilDoneOutput{State: st}, nextPoll(in, st, "waiting for poll 1")
	}
	before := st
	in.Check.Vars.Poll = st.Polls + 1
	out, err := a.CheckStatus(ctx, in.Check)
	st.Polls++
	if err != nil {
		if ctx.Err() != nil {
			return PollUntilDoneOutput{State: st}, err // the activity was cancelled or timed out
		}
		st.Failures++
		var app *temporal.ApplicationError
		if st.Failures >= max(in.PollTries, 1) || (errors.As(err, &app) && app.NonRetryable()) {
			return PollUntilDoneOutput{State: st}, temporal.NewNonRetryableApplicationError(errMessage(err), errType(err), nil, st)
		}
		recordHeartbeat(ctx, st)
		return PollUntilDoneOutput{State: st}, nextPoll(in, st, fmt.Sprintf("poll %d failed (%d in a row): %v", st.Polls, st.Failures, err))
	}
	st.Failures = 0
	if final, err := observe(ctx, in, &st, out); final || err != nil {
		return PollUntilDoneOutput{Last: out, State: st}, err
	}
	if st.LastStatus != before.LastStatus || st.NextHint != before.NextHint || st.Stuck != before.Stuck || before.Failures != 0 {
		recordHeartbeat(ctx, st)
	}
	return PollUntilDoneOutput{State: st}, nextPoll(in, st, fmt.Sprintf("still %q after poll %d", st.LastStatus, st.Polls))
}

// nextPoll is the failure that schedules the next poll: StillPending after
// the node's next wait, or the budget's error that ends the wait.
func nextPoll(in PollUntilDoneInput, st httpnode.PollState, why string) error {
	wait, errType, msg := in.Callback.BeforePoll(st, time.Now(), in.Deadline, in.Seed)
	if errType != "" {
		return temporal.NewNonRetryableApplicationError(msg, errType, nil, st)
	}
	// no details: the state is in the try number and the heartbeat, and the
	// failure of every try is written to the server
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s; the next poll in %s", why, wait.Round(time.Millisecond)), ErrStillPending,
		temporal.ApplicationErrorOptions{NextRetryDelay: wait})
}

// retryState is the polling state at the start of try attempt: the last
// heartbeat's (saved; in, before any), with every try since it counted as
// one more poll of the same status (a try that read anything else
// heartbeated).
func retryState(in httpnode.PollState, saved *httpnode.PollState, attempt int) httpnode.PollState {
	st := in
	if saved != nil {
		st = *saved
	}
	polls := in.Polls + max(attempt-2, 0) // the first try polls nothing
	if since := polls - st.Polls; since > 0 {
		st.Polls = polls
		if st.LastStatus != "" {
			st.SamePolls += since
		}
	}
	return st
}

// errType is the type of an activity error, for the error that carries it
// on.
// errMessage is err's message, without the " (type: …, retryable: …)"
// an ApplicationError's Error adds.
func errMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

func errType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return httpnode.ErrTransport
}
