package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
)

// tries runs PollByRetry's tries as Temporal would, each after the one
// before, carrying the heartbeat, until one does not fail with
// StillPending; it returns the outcome, the StillPending delays and the
// heartbeats recorded.
func tries(t *testing.T, in PollUntilDoneInput) (out PollUntilDoneOutput, delays []time.Duration, beats int, err error) {
	t.Helper()
	defer func(record func(context.Context, httpnode.PollState)) { recordHeartbeat = record }(recordHeartbeat)
	var saved *httpnode.PollState
	recordHeartbeat = func(_ context.Context, st httpnode.PollState) { saved, beats = &st, beats+1 }
	for attempt := 1; attempt < 100; attempt++ {
		st := retryState(in.State, saved, attempt)
		out, err = newActivities().pollTry(context.Background(), in, st, attempt)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != ErrStillPending {
			return out, delays, beats, err
		}
		require.False(t, app.NonRetryable())
		delays = append(delays, app.NextRetryDelay())
	}
	t.Fatal("no end after 100 tries")
	return
}

// The first try only schedules the first poll; each pending poll schedules
// the next after the node's wait; a final status ends it; the heartbeat is
// recorded only when the status changes.
func TestPollByRetry_PollsByRetries(t *testing.T) {
	srv, n := sequenceServer(t, "PROCESSING", "PROCESSING", "RUNNING", "RUNNING", "SUCCESS")
	check := checkInput(srv.URL)
	check.Pending = []string{"PROCESSING", "RUNNING"}
	cb := fastCallback(httpnode.Callback{})
	out, delays, beats, err := tries(t, PollUntilDoneInput{Check: check, Callback: cb, Seed: "s", Deadline: time.Now().Add(time.Minute), PollTries: 3})
	require.NoError(t, err)
	require.Equal(t, OutcomeSuccess, out.Last.Outcome)
	require.Equal(t, 5, out.State.Polls, "the try number counts the polls")
	require.EqualValues(t, 5, n.Load())
	require.Len(t, delays, 5, "one delay before the first poll, one after each pending poll")
	for _, d := range delays {
		require.Equal(t, cb.Interval.D(), d)
	}
	require.Equal(t, 2, beats, "PROCESSING and RUNNING, once each")
}

// A poll that fails is retried PollTries times in a row, then the wait
// fails with the poll's error type; budgets end the wait as in activity
// mode.
func TestPollByRetry_FailuresAndBudgets(t *testing.T) {
	var n atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	out, _, _, err := tries(t, PollUntilDoneInput{Check: checkInput(failing.URL), Callback: fastCallback(httpnode.Callback{}), Deadline: time.Now().Add(time.Minute), PollTries: 3})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, httpnode.ErrHTTPStatus, app.Type())
	require.True(t, app.NonRetryable())
	require.NotContains(t, app.Message(), "(type: ", "the poll's own message, as the other modes give it")
	require.EqualValues(t, 3, n.Load())
	require.Equal(t, 3, out.State.Failures)

	srv, _ := statusServer(t, 1000, "SUCCESS")
	_, _, _, err = tries(t, PollUntilDoneInput{Check: checkInput(srv.URL), Callback: fastCallback(httpnode.Callback{MaxPolls: 4}), Deadline: time.Now().Add(time.Minute), PollTries: 3})
	require.ErrorAs(t, err, &app)
	require.Equal(t, httpnode.ErrPollBudgetExceeded, app.Type())
	var st httpnode.PollState
	require.NoError(t, app.Details(&st))
	require.Equal(t, 4, st.Polls)
	require.Equal(t, 4, st.SamePolls, "polls that read the same status are counted without a heartbeat")
}
