package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// HeartbeatThrottle is the worker's MaxHeartbeatThrottleInterval. The SDK
// sends one heartbeat, then holds the activity's next ones until a window
// of 0.8 × its heartbeat timeout, capped by this, has passed, and sends the
// last held. Capped at half of httpnode.MinPollHeartbeat, a wait's period
// heartbeat (see httpnode.PollHeartbeat) always finds the window over and
// is sent when made, and a status change is sent within it.
const HeartbeatThrottle = httpnode.MinPollHeartbeat / 2

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
	// PollTries bounds the failed polls in a row before the attempt fails
	// (retry mode; activity mode retries the whole activity).
	PollTries int `json:"pollTries,omitempty"`
}

// PollUntilDoneOutput is the final poll and the polling state.
type PollUntilDoneOutput struct {
	Last  CheckStatusOutput  `json:"last"`
	State httpnode.PollState `json:"state"`
}

// PollUntilDone polls inside one activity until the remote status is final,
// with the same waits, budgets and stuck rules as timer mode, heartbeating
// its PollState (see PollHeartbeat) so that a retry (a lost worker, a
// failed poll) resumes where the last heartbeat left off. Budget and stuck
// failures carry the state in their details.
func (a *Activities) PollUntilDone(ctx context.Context, in PollUntilDoneInput) (PollUntilDoneOutput, error) {
	st := in.State
	if saved := savedState(ctx); saved != nil {
		st = *saved
	}
	cb := in.Callback
	every, _ := httpnode.PollHeartbeat(cb.Interval.D())
	hb := startHeartbeats(ctx, every, st)
	defer hb.stop()
	for {
		wait, errType, msg := cb.BeforePoll(st, time.Now(), in.Deadline, in.Seed)
		if errType != "" {
			return PollUntilDoneOutput{State: st}, temporal.NewNonRetryableApplicationError(msg, errType, nil, st)
		}
		if err := sleep(ctx, wait); err != nil {
			return PollUntilDoneOutput{State: st}, err
		}
		in.Check.Vars.Poll = st.Polls + 1
		out, err := a.CheckStatus(ctx, in.Check)
		st.Polls, st.LastPoll = st.Polls+1, time.Now() // the next wait runs from here, on this worker or another
		if err != nil {
			hb.set(st, true) // the retry resumes with this poll counted
			return PollUntilDoneOutput{State: st}, err
		}
		before := st
		if final, err := observe(ctx, in, &st, out); final || err != nil {
			return PollUntilDoneOutput{Last: out, State: st}, err
		}
		hb.set(st, st.LastStatus != before.LastStatus || st.Stuck != before.Stuck)
	}
}

// observe takes one poll's answer into st: it reports whether the status
// is final, fails a stuck job with failWhenStuck, and flags (and logs) it
// stuck otherwise.
func observe(ctx context.Context, in PollUntilDoneInput, st *httpnode.PollState, out CheckStatusOutput) (final bool, err error) {
	cb, now := in.Callback, time.Now()
	st.Observe(out.Status, out.NextInterval, now)
	if out.Outcome != OutcomePending {
		return true, nil
	}
	if !cb.StuckNow(*st, now) {
		return false, nil
	}
	if cb.FailWhenStuck {
		return false, temporal.NewNonRetryableApplicationError(cb.StuckMessage(*st, in.TaskID, now), httpnode.ErrRemoteStuck, nil, *st)
	}
	st.Stuck = true // StuckNow is true once
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("remote job looks stuck", "taskId", in.TaskID, "status", st.LastStatus, "polls", st.SamePolls)
	}
	return false, nil
}

// savedState is the PollState of the wait's last heartbeat, which a retry
// of its activity resumes from; nil before any.
func savedState(ctx context.Context) *httpnode.PollState {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return nil
	}
	var saved httpnode.PollState
	if activity.GetHeartbeatDetails(ctx, &saved) != nil {
		return nil
	}
	return &saved
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// heartbeats send a wait's latest PollState: at once when told it changed,
// and once per period otherwise, polls and sleeps alike.
type heartbeats struct {
	ctx  context.Context
	mu   sync.Mutex
	st   httpnode.PollState
	done chan struct{}
}

// startHeartbeats sends st now and then once per every; outside an
// activity (starter test) it sends nothing.
func startHeartbeats(ctx context.Context, every time.Duration, st httpnode.PollState) *heartbeats {
	h := &heartbeats{ctx: ctx, st: st, done: make(chan struct{})}
	if !activity.IsActivity(ctx) {
		return h
	}
	recordHeartbeat(ctx, st)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				recordHeartbeat(ctx, h.st)
				h.mu.Unlock()
			}
		}
	}()
	return h
}

// set makes st the state to send, sending it now when changed.
func (h *heartbeats) set(st httpnode.PollState, changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st = st
	if changed && activity.IsActivity(h.ctx) {
		recordHeartbeat(h.ctx, st)
	}
}

// recordHeartbeat is activity.RecordHeartbeat; a test sees every call
// through it (the SDK's test environment throttles what it passes on).
var recordHeartbeat = func(ctx context.Context, st httpnode.PollState) { activity.RecordHeartbeat(ctx, st) }

func (h *heartbeats) stop() { close(h.done) }
