package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// PollHeartbeatTimeout bounds how long a lost worker holds a wait in
// activity mode; PollUntilDone heartbeats well within it.
const PollHeartbeatTimeout = 30 * time.Second

const heartbeatEvery = 5 * time.Second

// PollUntilDoneInput is a whole wait in activity mode: the poll, the
// callback's rules (defaults applied), the jitter seed, the poll deadline and
// the state so far.
type PollUntilDoneInput struct {
	Check    CheckStatusInput   `json:"check"`
	Callback httpnode.Callback  `json:"callback"`
	Seed     string             `json:"seed"`
	Deadline time.Time          `json:"deadline"`
	TaskID   string             `json:"taskId"`
	State    httpnode.PollState `json:"state"`
}

// PollUntilDoneOutput is the final poll and the polling state.
type PollUntilDoneOutput struct {
	Last  CheckStatusOutput  `json:"last"`
	State httpnode.PollState `json:"state"`
}

// PollUntilDone polls inside one activity until the remote status is final,
// with the same waits, budgets and stuck rules as timer mode, heartbeating
// its PollState so that a retry (a lost worker, a failed poll) resumes where
// the last heartbeat left off. Budget and stuck failures carry the state in
// their details.
func (a *Activities) PollUntilDone(ctx context.Context, in PollUntilDoneInput) (PollUntilDoneOutput, error) {
	st := in.State
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var saved httpnode.PollState
		if activity.GetHeartbeatDetails(ctx, &saved) == nil {
			st = saved
		}
	}
	cb := in.Callback
	for {
		wait, errType, msg := cb.BeforePoll(st, time.Now(), in.Deadline, in.Seed)
		if errType != "" {
			return PollUntilDoneOutput{State: st}, temporal.NewNonRetryableApplicationError(msg, errType, nil, st)
		}
		if err := sleep(ctx, wait, st); err != nil {
			return PollUntilDoneOutput{State: st}, err
		}
		out, err := a.CheckStatus(ctx, in.Check)
		st.Polls++
		heartbeat(ctx, st)
		if err != nil {
			return PollUntilDoneOutput{State: st}, err
		}
		now := time.Now()
		st.Observe(out.Status, out.NextInterval, now)
		if out.Outcome != OutcomePending {
			return PollUntilDoneOutput{Last: out, State: st}, nil
		}
		if cb.StuckNow(st, now) {
			if cb.FailWhenStuck {
				return PollUntilDoneOutput{State: st}, temporal.NewNonRetryableApplicationError(cb.StuckMessage(st, in.TaskID, now), httpnode.ErrRemoteStuck, nil, st)
			}
			st.Stuck = true
			if activity.IsActivity(ctx) {
				activity.GetLogger(ctx).Warn("remote job looks stuck", "taskId", in.TaskID, "status", st.LastStatus, "polls", st.SamePolls)
			}
		}
		heartbeat(ctx, st)
	}
}

// sleep waits d, heartbeating so the server sees the worker alive.
func sleep(ctx context.Context, d time.Duration, st httpnode.PollState) error {
	end := time.Now().Add(d)
	for {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(min(left, heartbeatEvery))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
			heartbeat(ctx, st)
		}
	}
}

func heartbeat(ctx context.Context, st httpnode.PollState) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, st)
	}
}
