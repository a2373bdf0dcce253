package integration

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/internal/webhook"
	"github.com/httpnode/httpnode/workflows"
)

// 202 + Location: the operation is polled at its Location, honouring
// Retry-After, with the request's auth on the same host, until a final
// status judged by the success rule.
func TestHTTPNode_AcceptedWithLocation(t *testing.T) {
	var polls atomic.Int32
	var auths sync.Map
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths.Store(r.Method+" "+r.URL.Path, r.Header.Get("Authorization"))
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/operations/op-7")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"taskId": "op-7"}`)
		case polls.Add(1) < 3:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusAccepted)
		default:
			_, _ = io.WriteString(w, `{"rows": 42}`)
		}
	}))
	defer api.Close()
	f := newFixture(t)
	f.startWorker(t)
	run := f.start(t, json.RawMessage(`{"request": {"method": "POST", "url": "`+api.URL+`/exports",
		"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}, "successStatus": ["200", "202"]},
		"callback": {"mode": "location", "interval": "5s", "minInterval": "1s"}, "retry": {"count": 0}}`))
	res := resultOf(t, run)
	require.Equal(t, httpnode.StatusSucceeded, res.Status)
	require.Equal(t, 3, res.Polls)
	require.Equal(t, "op-7", res.TaskID)
	require.Equal(t, "200 OK", res.CallbackStatus)
	require.JSONEq(t, `{"rows": 42}`, res.CallbackResponse.Body)
	got, _ := auths.Load("GET /operations/op-7")
	require.Equal(t, "Bearer "+jobToken, got, "the request's auth is kept on the same host")
	var waits []time.Duration
	hist := f.history(t, run)
	record(t, "location_202.json", hist)
	for _, e := range hist.Events {
		if a := e.GetTimerStartedEventAttributes(); a != nil {
			waits = append(waits, a.GetStartToFireTimeout().AsDuration())
		}
	}
	require.Equal(t, []time.Duration{time.Second, time.Second, time.Second}, waits, "each wait is the Retry-After (1s), not the 5s interval")

	// a final status outside the success rule fails the node with it
	polls.Store(10)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", api.URL+"/elsewhere")
			w.WriteHeader(http.StatusAccepted)
			return
		}
	}))
	defer failing.Close()
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths.Store("other", r.Header.Get("Authorization"))
		http.Error(w, `{"error": "operation expired"}`, http.StatusGone)
	}))
	defer gone.Close()
	failing.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", gone.URL+"/operations/x")
		w.WriteHeader(http.StatusAccepted)
	})
	run = f.start(t, json.RawMessage(`{"name": "gone", "request": {"method": "POST", "url": "`+failing.URL+`/exports",
		"auth": {"type": "bearer", "token": "${secret.JOB_TOKEN}"}},
		"callback": {"mode": "location", "interval": "1s"}, "retry": {"count": 0}, "onFailure": "continue"}`))
	// the workflow id is per test: give this node its own
	res = resultOf(t, run)
	require.Equal(t, httpnode.StatusFailed, res.Status)
	require.Equal(t, httpnode.ErrCallbackStatus, res.Error.Type)
	require.Contains(t, res.Error.Message, "410 Gone")
	other, _ := auths.Load("other")
	require.Empty(t, other, "no credentials for another host")
}

// notifySink records notifications; it answers 503 to the first failFirst.
type notifySink struct {
	srv       *httptest.Server
	mu        sync.Mutex
	got       []*http.Request
	bodies    [][]byte
	failFirst int
	tries     int
}

func newNotifySink(t *testing.T, failFirst int) *notifySink {
	s := &notifySink{failFirst: failFirst}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.tries++
		s.got, s.bodies = append(s.got, r), append(s.bodies, b)
		if s.tries <= s.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

const notifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Notifications for each end state, in both formats, checked field by
// field and by signature; a notification failure never changes the result.
func TestHTTPNode_NotifiesEveryEndState(t *testing.T) {
	secretSrc := testutil.Secrets(map[string]string{"HOOK": notifySecret, "JOB_TOKEN": jobToken})
	secret, err := webhook.ParseSecret(notifySecret)
	require.NoError(t, err)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, `{"taskId": "t-ok"}`)
		case "/status/t-ok":
			_, _ = io.WriteString(w, `{"status": "SUCCESS"}`)
		case "/slow":
			_, _ = io.WriteString(w, `{"taskId": "t-slow"}`)
		case "/status/t-slow":
			_, _ = io.WriteString(w, `{"status": "PROCESSING"}`)
		default:
			http.Error(w, "no such job", http.StatusNotFound)
		}
	}))
	defer api.Close()
	f := newFixture(t)
	w := worker.New(f.c, f.taskQueue, worker.Options{})
	workflows.Register(w, activities.New(secretSrc, testutil.Loopback))
	require.NoError(t, w.Start())
	defer w.Stop()

	cases := []struct {
		status, path, extra string
		failFirst           int
		cancel              bool
		state, code         string
	}{
		{httpnode.StatusSucceeded, "/ok", ``, 1, false, "Success", "Success"},
		{httpnode.StatusFailed, "/missing", ``, 0, false, "Failed", httpnode.ErrHTTPStatus},
		{httpnode.StatusTimedOut, "/slow", `, "timeout": "2s"`, 0, false, "Timeout", httpnode.ErrNodeTimeout},
		{httpnode.StatusCancelled, "/slow", ``, 0, true, "Cancelled", httpnode.ErrCancelled},
		{httpnode.StatusSkipped, "/ok", `, "runStatus": "skip"`, 0, false, "Skipped", "Success"},
	}
	for _, tc := range cases {
		for _, format := range []string{httpnode.FormatJSON, httpnode.FormatXML} {
			t.Run(tc.status+"/"+format, func(t *testing.T) {
				notifyCase(t, f, api.URL, secret, format, tc.status, tc.path, tc.extra, tc.failFirst, tc.cancel, tc.state, tc.code)
			})
		}
	}

	t.Run("a failing notification does not change the result", func(t *testing.T) {
		sink := newNotifySink(t, 100)
		node := json.RawMessage(`{"request": {"url": "` + api.URL + `/ok"}, "retry": {"count": 0},
			"notify": {"url": "` + sink.srv.URL + `/hooks"}}`)
		run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "notify-fails", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var res httpnode.Result
		require.NoError(t, run.Get(ctx, &res))
		require.Equal(t, httpnode.StatusSucceeded, res.Status)
		require.Equal(t, httpnode.CallFailed, res.Notification.Status)
		require.Equal(t, httpnode.ErrHTTPStatus, res.Notification.Error.Type)
		require.Equal(t, workflows.NotifyTries, sink.tries, "retried with backoff, then given up")
	})
}

// Cancelling a node (CLI, UI, parent) or its timeout stops the wait and
// calls the cancel request exactly once.
func TestHTTPNode_CancelCallsTheCancelURLOnce(t *testing.T) {
	var mu sync.Mutex
	cancels := map[string]int{}
	submitted := make(chan string, 4)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			id := "job-" + strings.TrimPrefix(r.URL.Path, "/jobs/")
			submitted <- id
			_, _ = io.WriteString(w, `{"taskId": "`+id+`"}`)
		case r.Method == http.MethodDelete:
			mu.Lock()
			cancels[strings.TrimPrefix(r.URL.Path, "/jobs/")]++
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		default:
			_, _ = io.WriteString(w, `{"status": "PROCESSING"}`)
		}
	}))
	defer api.Close()
	f := newFixture(t)
	f.startWorker(t)
	node := func(name, extra string) json.RawMessage {
		return json.RawMessage(`{"name": "` + name + `", "request": {"method": "POST", "url": "` + api.URL + `/jobs/` + name + `"},
			"callback": {"url": "` + api.URL + `/status", "interval": "1s"}, "retry": {"count": 0},
			"cancel": {"method": "DELETE", "url": "` + api.URL + `/jobs/${taskId}"}` + extra + `}`)
	}

	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "cancel-me", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node("a", ""))
	require.NoError(t, err)
	require.Equal(t, "job-a", <-submitted)
	waitFor(t, f, run.GetID(), workflows.PhaseWaiting)
	require.NoError(t, f.c.CancelWorkflow(context.Background(), run.GetID(), ""))
	err = run.Get(context.Background(), nil)
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "got %v", err)
	var res httpnode.Result
	require.NoError(t, canceled.Details(&res))
	require.Equal(t, httpnode.StatusCancelled, res.Status)
	require.Equal(t, &httpnode.CallOutcome{Status: httpnode.CallSent, StatusCode: http.StatusAccepted}, res.Cancel)
	desc, err := f.c.DescribeWorkflowExecution(context.Background(), run.GetID(), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.GetWorkflowExecutionInfo().GetStatus())
	record(t, "cancelled_with_cancel_request.json", f.history(t, run))

	timedOut := resultOfFailed(t, f.start(t, node("b", `, "timeout": "2s"`)))
	require.Equal(t, httpnode.StatusTimedOut, timedOut.Status)
	require.Equal(t, httpnode.CallSent, timedOut.Cancel.Status)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"job-a": 1, "job-b": 1}, cancels, "each job cancelled exactly once")
}

// resultOfFailed is the result carried by a node that failed (onFailure abort).
func resultOfFailed(t *testing.T, run client.WorkflowRun) httpnode.Result {
	t.Helper()
	err := run.Get(context.Background(), nil)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	var res httpnode.Result
	require.NoError(t, app.Details(&res))
	return res
}

// notifyCase runs a node that ends with status and notifies in format, and
// checks the TaskFinish document field by field.
func notifyCase(t *testing.T, f *fixture, apiURL string, secret webhook.Secret, format, status, path, extra string, failFirst int, cancel bool, state, code string) {
	sink := newNotifySink(t, failFirst)
	node := json.RawMessage(`{"name": "nightly", "request": {"method": "POST", "url": "` + apiURL + path + `"},
		"callback": {"url": "` + apiURL + `/status", "interval": "1s"}, "retry": {"count": 0}, "onFailure": "continue",
		"notify": {"url": "` + sink.srv.URL + `/hooks", "format": "` + format + `", "on": ["succeeded", "failed", "timedOut", "cancelled", "skipped"],
			"sign": {"secrets": ["${secret.HOOK}"]}, "userData": "batch-7", "tags": {"team": "media", "env": "test"}}` + extra + `}`)
	run, err := f.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "notify-" + status + "-" + format, TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	if cancel {
		waitFor(t, f, run.GetID(), workflows.PhaseWaiting)
		require.NoError(t, f.c.CancelWorkflow(context.Background(), run.GetID(), ""))
	}
	res := endResult(t, run)
	require.Equal(t, status, res.Status)
	require.Equal(t, &httpnode.CallOutcome{Status: httpnode.CallSent, StatusCode: http.StatusNoContent}, res.Notification)
	if format == httpnode.FormatJSON {
		record(t, "notify_"+strings.ToLower(status)+".json", f.history(t, run))
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	require.Len(t, sink.got, failFirst+1, "a 503 is retried")
	last, body := sink.got[len(sink.got)-1], sink.bodies[len(sink.bodies)-1]
	require.Equal(t, sink.got[0].Header.Get(webhook.HeaderID), last.Header.Get(webhook.HeaderID), "webhook-id is stable across retries")
	_, err = webhook.Verify(last.Header, body, []webhook.Secret{secret}, time.Now(), 0)
	require.NoError(t, err, "signed with the Standard Webhooks scheme")

	var doc httpnode.TaskFinish
	if format == "xml" {
		require.Equal(t, "application/xml", last.Header.Get("Content-Type"))
		require.NoError(t, xml.Unmarshal(body, &doc))
		require.True(t, strings.HasPrefix(string(body), "<?xml"), "an XML document")
	} else {
		require.Equal(t, "application/json", last.Header.Get("Content-Type"))
		require.NoError(t, json.Unmarshal(body, &doc))
	}
	j := doc.JobsDetail
	require.Equal(t, "TaskFinish", doc.EventName)
	require.Equal(t, state, j.State)
	require.Equal(t, code, j.Code)
	require.Equal(t, run.GetID(), j.JobID)
	require.Equal(t, "batch-7", j.UserData)
	require.Equal(t, []httpnode.TaskFinishTag{{Key: "env", Value: "test"}, {Key: "team", Value: "media"}}, j.Tags)
	require.Equal(t, "nightly", j.Input.Name)
	require.Equal(t, "POST", j.Input.Method)
	for _, ts := range []string{j.CreationTime, j.EndTime} {
		_, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err, ts)
	}
	require.Equal(t, httpnode.TaskFinishRunInfo{RunID: run.GetRunID(), WorkflowID: run.GetID(), WorkflowType: workflows.HTTPNodeName, Name: "nightly", NodeName: "nightly"}, doc.Workflow)
	switch status {
	case httpnode.StatusSucceeded:
		require.Equal(t, apiURL+"/ok", j.Input.URL)
		require.Equal(t, httpnode.TaskFinishOutput{StatusCode: 200, TaskID: "t-ok", RemoteStatus: "SUCCESS", Attempts: 1, Polls: 1}, j.Output)
		require.NotEmpty(t, j.StartTime)
	case httpnode.StatusFailed:
		require.Equal(t, 404, j.Output.StatusCode)
		require.Contains(t, j.Message, "404 Not Found")
	case httpnode.StatusTimedOut:
		require.Equal(t, "t-slow", j.Output.TaskID)
		require.Equal(t, "PROCESSING", j.Output.RemoteStatus)
		require.Contains(t, j.Message, "timeout 2s passed")
	case httpnode.StatusCancelled:
		require.Equal(t, "t-slow", j.Output.TaskID)
		require.Equal(t, "node: cancelled", j.Message)
	case httpnode.StatusSkipped:
		require.Zero(t, j.Output.Attempts)
		require.Empty(t, j.Input.URL, "nothing was sent")
	}
}

// waitFor waits until the node's progress reports phase.
func waitFor(t *testing.T, f *fixture, id, phase string) {
	t.Helper()
	require.Eventually(t, func() bool {
		v, err := f.c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
		var p workflows.Progress
		return err == nil && v.Get(&p) == nil && p.Phase == phase
	}, 30*time.Second, 50*time.Millisecond)
}

// endResult is a node's result however it ended: completed, failed
// (onFailure abort) or cancelled.
func endResult(t *testing.T, run client.WorkflowRun) httpnode.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res httpnode.Result
	err := run.Get(ctx, &res)
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
	case errors.As(err, &app):
		require.NoError(t, app.Details(&res))
	case errors.As(err, &canceled):
		require.NoError(t, canceled.Details(&res))
	default:
		require.NoError(t, err)
	}
	return res
}
