package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/workflows"
)

// The async-job scenario end to end: POST a job, poll /status/<taskId> until
// SUCCESS; the bearer token never reaches history.
func TestHTTPNode_AsyncJobSucceeds(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	run := f.start(t, f.node(`{"polls": 3}`))
	res := resultOf(t, run)

	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 3, res.Polls)
	require.Equal(t, "SUCCESS", res.CallbackStatus)
	require.Regexp(t, `^job-[0-9a-f]{12}$`, res.TaskID)
	require.Equal(t, "Bearer ***", res.Request.Headers["Authorization"])
	require.EqualValues(t, 1, f.jobs.Submissions())
	require.EqualValues(t, 3, f.jobs.Polls())

	hist := f.history(t, run)
	text := payloadText(hist)
	require.NotContains(t, text, jobToken, "no secret in history")
	require.Contains(t, text, "${secret.JOB_TOKEN}", "the reference, not the value, is stored")
	require.Contains(t, text, "POST "+f.url+"/jobs", "the main request's activity summary")
	require.Contains(t, text, "poll 3: GET "+f.url+"/status/"+res.TaskID, "each poll is named")

	// Between two poll timers: the timer fires, a workflow task runs the
	// poll as a local activity and starts the next timer.
	var timers []int
	for i, e := range hist.Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			timers = append(timers, i)
		}
	}
	require.Len(t, timers, 3)
	require.LessOrEqual(t, timers[2]-timers[1], 6, "history events per poll")
	t.Logf("history: %d events for a node with %d polls; %d events per poll", len(hist.Events), res.Polls, timers[2]-timers[1])
	record(t, "async_job_success.json", hist)
}

// record writes a history for the workflows package's replay test when
// HTTPNODE_RECORD_HISTORY is set.
func record(t *testing.T, name string, hist *historypb.History) {
	t.Helper()
	if os.Getenv("HTTPNODE_RECORD_HISTORY") == "" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name), b, 0o644))
}

// A failed attempt is run again after retry.interval with a new idempotency
// key, under a node timeout whose timer is cancelled when the node ends.
func TestHTTPNode_RetriesAFailedAttempt(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var keys []string
	jobsAPI := f.jobs.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			first := len(keys) == 1
			mu.Unlock()
			if first {
				http.Error(w, `{"error": "queue full"}`, http.StatusConflict)
				return
			}
		}
		jobsAPI.ServeHTTP(w, r)
	}))
	defer srv.Close()
	f.url = srv.URL
	f.startWorker(t)
	node := f.node(`{"polls": 1}`)
	node = withFields(t, node, `{"retry": {"count": 1, "interval": "1s"}, "timeout": "1m"}`)
	run := f.start(t, node)
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 2, res.Attempts)
	require.Len(t, res.AttemptLog, 1)
	require.Equal(t, 409, res.AttemptLog[0].StatusCode)
	require.Equal(t, httpnode.ErrHTTPStatus, res.AttemptLog[0].Error.Type)
	require.Len(t, keys, 2)
	require.NotEqual(t, keys[0], keys[1], "each attempt has its own idempotency key")

	hist := f.history(t, run)
	var fired, canceled int
	for _, e := range hist.Events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			fired++
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			canceled++
		}
	}
	require.Equal(t, 1, canceled, "the node timeout timer does not outlive the node")
	require.Equal(t, 2, fired, "the retry wait and one poll wait")
	record(t, "retry_then_success.json", hist)
}

func TestHTTPNode_FailingJob(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	run := f.start(t, f.node(`{"polls": 2, "outcome": "FAILED"}`))
	err := run.Get(context.Background(), nil)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.Equal(t, httpnode.ErrCallbackStatus, app.Type())
	require.Contains(t, app.Message(), `ended with status "FAILED"`)
	var res httpnode.Result
	require.NoError(t, app.Details(&res))
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, 2, res.Polls)
	require.EqualValues(t, 1, f.jobs.Submissions())
}

func TestHTTPNode_FailingJobContinue(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	node := f.node(`{"polls": 1, "outcome": "FAILED"}`)
	node = withFields(t, node, `{"onFailure": "continue"}`)
	res := resultOf(t, f.start(t, node))
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrCallbackStatus, res.Error.Type)
}

// A worker stopped in the middle of polling, and a new one finishing the node:
// the main request is sent exactly once.
func TestHTTPNode_SurvivesWorkerRestart(t *testing.T) {
	f := newFixture(t)
	first := f.startWorker(t)
	run := f.start(t, f.node(`{"seconds": 3600}`))
	require.Eventually(t, func() bool { return f.jobs.Polls() >= 2 }, 30*time.Second, 20*time.Millisecond)
	first.Stop()
	stoppedAt := f.jobs.Polls()

	second := f.startWorker(t)
	defer second.Stop()
	require.Eventually(t, func() bool { return f.jobs.Polls() > stoppedAt }, 30*time.Second, 20*time.Millisecond, "the new worker polls on")
	var progress struct {
		TaskID string `json:"taskId"`
	}
	v, err := f.c.QueryWorkflow(context.Background(), run.GetID(), run.GetRunID(), "progress")
	require.NoError(t, err)
	require.NoError(t, v.Get(&progress))
	require.True(t, f.jobs.Finish(progress.TaskID, "SUCCESS"))

	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.EqualValues(t, 1, f.jobs.Submissions(), "the main request is sent exactly once")
	require.GreaterOrEqual(t, res.Polls, 3)
}

// A long wait continues as new on the real server; the result, read through
// the chain of runs, is the same as without it.
func TestHTTPNode_ContinueAsNewKeepsTheResult(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	node := f.node(`{"polls": 5}`)
	node = withFields(t, node, `{"callback": {"url": "`+f.url+`/status", "interval": "1s", "pollsPerRun": 2,
		"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}}}`)
	run := f.start(t, node)
	firstRunID := run.GetRunID()
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 5, res.Polls, "polls count across runs")
	require.EqualValues(t, 1, f.jobs.Submissions(), "the main request is not sent again by later runs")

	desc, err := f.c.DescribeWorkflowExecution(context.Background(), run.GetID(), "")
	require.NoError(t, err)
	require.NotEqual(t, firstRunID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "the node finished in a later run")
	last := f.history(t, f.c.GetWorkflow(context.Background(), run.GetID(), ""))
	require.Less(t, len(last.Events), 40, "each run's history stays small")
}

// In activity mode the polls happen inside one heartbeating activity, in
// retry mode they are one activity's retries: either way the history does
// not grow with the number of polls. In retry mode describe shows the
// wait's progress in the pending activity's last failure.
func TestHTTPNode_ActivityAndRetryModesAddNoEventsPerPoll(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	for _, mode := range []string{"activity", "retry"} {
		events := map[int]int{}
		for _, polls := range []int{1, 4} {
			node := f.node(fmt.Sprintf(`{"polls": %d}`, polls))
			node = withFields(t, node, `{"callback": {"url": "`+f.url+`/status", "interval": "1s", "mode": "`+mode+`",
				"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}}}`)
			run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprint(mode, "-mode-", polls), TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
			require.NoError(t, err)
			if mode == "retry" && polls == 4 {
				var lastFailure string
				require.Eventually(t, func() bool {
					d, err := f.c.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
					require.NoError(t, err)
					for _, pa := range d.GetPendingActivities() {
						lastFailure = pa.GetLastFailure().GetMessage()
					}
					return strings.Contains(lastFailure, `still "PROCESSING" after poll 2`)
				}, 20*time.Second, 100*time.Millisecond, "describe shows the polls so far: %q", lastFailure)
			}
			res := resultOf(t, run)
			require.Equal(t, httpnode.StatusSucceeded, res.Status)
			require.Equal(t, polls, res.Polls)
			require.Equal(t, "SUCCESS", res.CallbackStatus)
			hist := f.history(t, run)
			events[polls] = len(hist.Events)
			require.NotContains(t, payloadText(hist), jobToken)
			if mode == "retry" && polls == 4 {
				record(t, "retry_mode_success.json", hist)
			}
		}
		require.Equal(t, events[1], events[4], "%s mode: 0 history events per poll", mode)
		t.Logf("%s mode: %d events for a node with 1 poll and with 4", mode, events[4])
	}
}

// A node whose callback names no mode waits the worker's default way
// (--default-wait-mode), auto picking by the interval, and the mode is in
// history with the main response: the node replays as it ran on any
// worker.
func TestHTTPNode_WorkerDefaultWaitMode(t *testing.T) {
	for _, c := range []struct {
		workerMode, wait string // the activity the wait runs as ("" in timer mode)
		markers          int    // local activities: the render, and in timer mode each poll
	}{
		{httpnode.ModeRetry, "PollByRetry", 1},
		{httpnode.ModeAuto, "PollUntilDone", 1}, // activity mode below the crossover
		{httpnode.ModeTimer, "", 4},
	} {
		t.Run(c.workerMode, func(t *testing.T) {
			f := newFixture(t)
			f.startWorkers(t, worker.Options{}, func(a *activities.Activities) { a.DefaultWaitMode = c.workerMode })
			run := f.start(t, f.node(`{"polls": 3}`)) // a poll every 1s, no mode
			res := resultOf(t, run)
			require.Equal(t, httpnode.StatusSucceeded, res.Status)
			require.Equal(t, 3, res.Polls)
			hist := f.history(t, run)
			var ran []string
			markers := 0
			for _, e := range hist.Events {
				if at := e.GetActivityTaskScheduledEventAttributes(); at != nil {
					ran = append(ran, at.GetActivityType().GetName())
				}
				if e.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
					markers++
				}
			}
			want := []string{"SendRequest"}
			if c.wait != "" {
				want = append(want, c.wait)
			}
			require.Equal(t, want, ran)
			require.Equal(t, c.markers, markers)
			if c.workerMode == httpnode.ModeAuto {
				record(t, "worker_default_auto.json", hist)
			}
		})
	}
}

// Activity-mode waits run on a task queue of their own with slots of their
// own: on a worker whose main queue has one activity slot, every node's main
// request is sent while the waits go on.
func TestHTTPNode_ActivityModeWaitsKeepOffRequestSlots(t *testing.T) {
	f := newFixture(t)
	f.startWorkers(t, worker.Options{MaxConcurrentActivityExecutionSize: 1})
	for i := range 3 {
		node := withFields(t, f.node(`{"polls": 30}`), `{"callback": {"url": "`+f.url+`/status", "interval": "1s", "mode": "activity",
			"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}}}`)
		run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprint("waits-apart-", i), TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
		require.NoError(t, err)
		defer func() { _ = f.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test over") }()
	}
	require.Eventually(t, func() bool { return f.jobs.Submissions() == 3 }, 15*time.Second, 100*time.Millisecond,
		"every main request is sent while the 30 s waits go on (%d sent)", f.jobs.Submissions())
}

// An activity-mode wait polling every second heartbeats once per
// MinPollHeartbeat, and on a status change within HeartbeatThrottle (not
// every 0.8 × a 30 s heartbeat timeout, as the SDK throttled it before): what
// describe shows of it is never more than one period old, and it costs
// about one heartbeat per period.
func TestHTTPNode_ActivityModeHeartbeatsOncePerPeriod(t *testing.T) {
	f := newFixture(t)
	f.startWorker(t)
	node := f.node(`{"polls": 1000}`)
	node = withFields(t, node, `{"callback": {"url": "`+f.url+`/status", "interval": "1s", "mode": "activity",
		"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}}}`)
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "activity-mode-heartbeats", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	defer func() { _ = f.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test over") }()
	every, _ := httpnode.PollHeartbeat(time.Second)
	var beats []time.Time
	var shown []int           // the polls each heartbeat shows
	var stalest time.Duration // the oldest heartbeat describe showed, once the wait began
	for end := time.Now().Add(3*every + 5*time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		d, err := f.c.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
		require.NoError(t, err)
		for _, pa := range d.GetPendingActivities() {
			if pa.GetLastHeartbeatTime() == nil {
				continue
			}
			at := pa.GetLastHeartbeatTime().AsTime()
			stalest = max(stalest, time.Since(at))
			if len(beats) > 0 && !at.After(beats[len(beats)-1]) {
				continue
			}
			var st httpnode.PollState
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &st))
			beats, shown = append(beats, at), append(shown, st.Polls)
		}
	}
	t.Logf("heartbeats at %v, showing polls %v; the stalest describe showed a heartbeat %s old", beats, shown, stalest)
	require.LessOrEqual(t, stalest, every+2*time.Second, "describe is at most one period (%s) behind", every)
	// the start, the first status (held up to HeartbeatThrottle), then one per period
	require.GreaterOrEqual(t, len(beats), 4)
	require.LessOrEqual(t, len(beats), 6, "about one heartbeat per %s, not per poll", every)
	require.Equal(t, 0, shown[0])
	require.GreaterOrEqual(t, shown[len(shown)-1], 2*int(every/time.Second), "the polls made since")
}
