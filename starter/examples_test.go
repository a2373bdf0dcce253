package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/workflows"
)

// Every example validates, but the one that shows validation errors.
func TestExamples_Validate(t *testing.T) {
	files, err := filepath.Glob("../examples/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 10)
	for _, f := range files {
		code, _, stderr := starter(t, "validate", f)
		if filepath.Base(f) == "invalid.json" {
			require.Equal(t, exitInvalid, code)
			continue
		}
		require.Equal(t, exitOK, code, "%s: %s", f, stderr)
	}
}

// The examples run as the README runs them (starter run against a worker
// with a callback receiver and the demo job service), the job service's
// address swapped for the test's.
func TestExamples_RunAsDocumented(t *testing.T) {
	cases := []struct {
		file, status string
		check        func(t *testing.T, res httpnode.Result)
		args         []string
	}{
		{"job-success.json", httpnode.StatusSucceeded, nil, nil},
		{"job-secured.json", httpnode.StatusSucceeded, nil, nil},
		{"daily-export.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, map[string]string{"region": "us"}, res.Params)
			require.Equal(t, "Bearer ***", res.Request.Headers["Authorization"])
		}, []string{"--param", "region=us"}},
		{"job-failing.json", httpnode.StatusFailed, nil, nil},
		{"large-report.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Greater(t, res.Response.BodyRef.Size, int64(10<<20-64), "the whole report is stored")
			require.Equal(t, httpnode.CutByStore, res.Response.TruncatedBy)
			var rows int
			require.NoError(t, json.Unmarshal(res.Outputs["rows"], &rows))
			require.Equal(t, fmt.Sprintf(`"%08d,customer %d,EUR,%d.00"`, rows-1, rows-1, (rows-1)%997), string(res.Outputs["lastRow"]), "read over the whole body")
		}, nil},
		{"rules.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, `"`+res.TaskID+`"`, string(res.Outputs["jobId"]))
			require.JSONEq(t, fmt.Sprint(res.Polls), string(res.Outputs["polls"]), "polls is the final poll's number")
		}, nil},
		{"push.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Zero(t, res.Polls)
			require.Equal(t, 2, res.Pushes, "a progress callback, then the final one")
		}, nil},
		{"push-taskfinish.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, "Success", res.CallbackStatus, "read from the XML TaskFinish document")
		}, nil},
		{"location.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, "200 OK", res.CallbackStatus)
			require.Positive(t, res.Polls)
		}, nil},
		{"notify.json", httpnode.StatusSucceeded, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, httpnode.CallSent, res.Notification.Status)
			var found bool
			for _, n := range jobs.Notifications() {
				var doc httpnode.TaskFinish
				if xml.Unmarshal(n.Body, &doc) == nil && doc.JobsDetail.Output.TaskID == res.TaskID {
					found = n.Verified && doc.JobsDetail.State == "Success" && doc.JobsDetail.UserData == "nightly batch 7"
				}
			}
			require.True(t, found, "the job service received the signed TaskFinish")
		}, nil},
		{"cancel.json", httpnode.StatusTimedOut, func(t *testing.T, res httpnode.Result) {
			require.Equal(t, httpnode.CallSent, res.Cancel.Status)
			require.True(t, jobs.Cancelled(res.TaskID), "the remote job was cancelled")
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("..", "examples", tc.file))
			require.NoError(t, err)
			file := writeNode(t, strings.ReplaceAll(string(b), "http://127.0.0.1:8081", jobsURL))
			args := append(append(append([]string{"run"}, serverFlags()...), tc.args...), "--progress-every", "1h", file)
			code, stdout, stderr := starter(t, args...)
			var res httpnode.Result
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), "%s\n%s", stdout, stderr)
			require.Equal(t, tc.status, res.Status, stderr)
			require.Equal(t, tc.status == httpnode.StatusSucceeded, code == exitOK)
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 5, 0, time.Local)
	require.Equal(t, "attempt 1 · waiting · task t1 · polls 2 · remote status PROCESSING · next poll 10:00:05",
		progressLine(workflows.Progress{Phase: workflows.PhaseWaiting, Attempt: 1, TaskID: "t1", Polls: 2, LastStatus: "PROCESSING", NextPollTime: &at}))
	require.Equal(t, "attempt 1 · waiting · polls 0 · callbacks 1 · remote status Running · waiting for the callback until 10:00:05",
		progressLine(workflows.Progress{Phase: workflows.PhaseWaiting, Attempt: 1, Pushes: 1, LastStatus: "Running", PushDeadline: &at}))
	require.Equal(t, "attempt 1 · retry-wait · after HTTPStatus: request: answered 503 · next try 10:00:05",
		progressLine(workflows.Progress{Phase: workflows.PhaseRetryWait, Attempt: 1, NextTryTime: &at, LastError: &httpnode.Error{Type: "HTTPStatus", Message: "request: answered 503"}}))
}
