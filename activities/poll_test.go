package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/httpnode/httpnode/httpnode"
)

// statusServer answers PROCESSING until the n-th poll, then final.
func statusServer(t *testing.T, n int64, final string) (*httptest.Server, *atomic.Int64) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := "PROCESSING"
		if polls.Add(1) >= n {
			status = final
		}
		_, _ = w.Write([]byte(`{"status": "` + status + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &polls
}

// sequenceServer answers statuses[i] to the i-th poll (from 0), the last
// one from there on.
func sequenceServer(t *testing.T, statuses ...string) (*httptest.Server, *atomic.Int64) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(polls.Add(1))-1, len(statuses)-1)
		_, _ = w.Write([]byte(`{"status": "` + statuses[i] + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &polls
}

// fastCallback polls every 10ms: below the timer floor that validation
// keeps for timer mode, fine inside an activity.
func fastCallback(extra httpnode.Callback) httpnode.Callback {
	extra.URL = "http://unused"
	cb := *httpnode.Node{Callback: &extra}.WithDefaults().Callback
	cb.Interval, cb.MinInterval = httpnode.Duration(10*time.Millisecond), httpnode.Duration(10*time.Millisecond)
	return cb
}

func pollEnv(t *testing.T) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(newActivities())
	return env
}

func TestPollUntilDone_PollsUntilFinal(t *testing.T) {
	srv, polls := statusServer(t, 4, "SUCCESS")
	env := pollEnv(t)
	v, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
		Check: checkInput(srv.URL), Callback: fastCallback(httpnode.Callback{}), Seed: "s", Deadline: time.Now().Add(time.Minute),
	})
	require.NoError(t, err)
	var out PollUntilDoneOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, OutcomeSuccess, out.Last.Outcome)
	require.Equal(t, 4, out.State.Polls)
	require.EqualValues(t, 4, polls.Load())
	require.NotNil(t, out.Last.Response, "the final response is kept")
}

func TestPollUntilDone_ResumesFromHeartbeat(t *testing.T) {
	srv, _ := statusServer(t, 1, "FAILED")
	env := pollEnv(t)
	env.SetHeartbeatDetails(httpnode.PollState{Polls: 7, LastStatus: "PROCESSING"})
	v, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
		Check: checkInput(srv.URL), Callback: fastCallback(httpnode.Callback{}), Deadline: time.Now().Add(time.Minute),
	})
	require.NoError(t, err)
	var out PollUntilDoneOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, 8, out.State.Polls, "counting goes on from the last heartbeat")
	require.Equal(t, OutcomeFailure, out.Last.Outcome)
}

// A wait resumed on another worker polls when its next poll was due: at
// once when that has passed, not an interval after it resumed (which would
// be past the deadline here).
func TestPollUntilDone_ResumesWhenTheNextPollWasDue(t *testing.T) {
	srv, _ := statusServer(t, 1, "SUCCESS")
	cb := fastCallback(httpnode.Callback{})
	cb.Interval = httpnode.Duration(time.Hour)
	env := pollEnv(t)
	env.SetHeartbeatDetails(httpnode.PollState{Polls: 3, LastStatus: "PROCESSING", LastPoll: time.Now().Add(-time.Hour - time.Minute)})
	began := time.Now()
	v, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
		Check: checkInput(srv.URL), Callback: cb, Deadline: time.Now().Add(time.Minute),
	})
	require.NoError(t, err, "the poll due a minute ago is made at once")
	var out PollUntilDoneOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, 4, out.State.Polls)
	require.Equal(t, OutcomeSuccess, out.Last.Outcome)
	require.False(t, out.State.LastPoll.Before(began), "the state says when the poll was made")
}

func TestPollUntilDone_BudgetsAndStuck(t *testing.T) {
	srv, _ := statusServer(t, 1000, "SUCCESS")
	cases := []struct {
		cb      httpnode.Callback
		errType string
		polls   int
	}{
		{httpnode.Callback{MaxPolls: 3}, httpnode.ErrPollBudgetExceeded, 3},
		{httpnode.Callback{StuckAfterPolls: 2, FailWhenStuck: true}, httpnode.ErrRemoteStuck, 2},
	}
	for _, tc := range cases {
		env := pollEnv(t)
		_, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
			Check: checkInput(srv.URL), Callback: fastCallback(tc.cb), TaskID: "t1", Deadline: time.Now().Add(time.Minute),
		})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		require.Equal(t, tc.errType, app.Type())
		var st httpnode.PollState
		require.NoError(t, app.Details(&st), "the state travels with the error")
		require.Equal(t, tc.polls, st.Polls)
	}
	env := pollEnv(t)
	_, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
		Check: checkInput(srv.URL), Callback: fastCallback(httpnode.Callback{}), Deadline: time.Now().Add(50 * time.Millisecond),
	})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, httpnode.ErrPollDeadlineExceeded, app.Type())
}

// A wait heartbeats when it starts and when the remote status changes; its
// period heartbeat (every PollHeartbeat, at least 10 s) does not come in a
// wait this short, however often it polls.
func TestPollUntilDone_HeartbeatsOnChange(t *testing.T) {
	srv, _ := sequenceServer(t, "PROCESSING", "PROCESSING", "PROCESSING", "PROCESSING", "PROCESSING",
		"RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCESS")
	env := pollEnv(t)
	var mu sync.Mutex
	var beats []httpnode.PollState
	defer func(record func(context.Context, httpnode.PollState)) { recordHeartbeat = record }(recordHeartbeat)
	recordHeartbeat = func(_ context.Context, st httpnode.PollState) {
		mu.Lock()
		beats = append(beats, st)
		mu.Unlock()
	}
	check := checkInput(srv.URL)
	check.Pending = []string{"PROCESSING", "RUNNING"}
	v, err := env.ExecuteActivity(newActivities().PollUntilDone, PollUntilDoneInput{
		Check: check, Callback: fastCallback(httpnode.Callback{}), Seed: "s", Deadline: time.Now().Add(time.Minute),
	})
	require.NoError(t, err)
	var out PollUntilDoneOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, OutcomeSuccess, out.Last.Outcome)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, beats, 3, "the start, then PROCESSING and RUNNING, once each: %+v", beats)
	require.Equal(t, 0, beats[0].Polls)
	require.Equal(t, "PROCESSING", beats[1].LastStatus)
	require.Equal(t, 1, beats[1].Polls)
	require.Equal(t, "RUNNING", beats[2].LastStatus)
	require.Equal(t, 6, beats[2].Polls)
}

func TestHeartbeatThrottle(t *testing.T) {
	require.Less(t, HeartbeatThrottle, httpnode.MinPollHeartbeat, "a period heartbeat finds the SDK's window over")
}
