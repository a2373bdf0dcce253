package jobservice

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/webhook"
)

func TestCallbacks_PostTheFinalStatus(t *testing.T) {
	for _, tc := range []struct {
		name, body, format string
		end                func(t *testing.T, s *Service, id string)
		wantStatus         string // the status /status/{id} reports after
		wantReported       string // the json status or the xml State
		wantType           string
	}{
		{"json by time", `"seconds": 0.05`, "json", nil, "SUCCESS", "SUCCESS", "application/json"},
		{"json failed by time", `"seconds": 0.05, "outcome": "failed"`, "json", nil, "FAILED", "FAILED", "application/json"},
		{"xml by time", `"seconds": 0.05, "callbackFormat": "xml"`, "xml", nil, "SUCCESS", "Success", "application/xml"},
		{"xml failed by Finish", `"seconds": 600, "callbackFormat": "XML"`, "xml",
			func(t *testing.T, s *Service, id string) { require.True(t, s.Finish(id, "FAILED")) }, "FAILED", "Failed", "application/xml"},
		{"json by the last poll", `"polls": 1`, "json",
			func(t *testing.T, s *Service, id string) {
				code, _, _ := do(t, s.Handler(), "GET", "/status/"+id, "", nil)
				require.Equal(t, http.StatusOK, code)
			}, "SUCCESS", "SUCCESS", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			rc := newReceiver(t)
			id := submit(t, s.Handler(), fmt.Sprintf(`{%s, "callbackUrl": %q}`, tc.body, rc.URL))
			if tc.end != nil {
				tc.end(t, s, id)
			}
			got, err := s.WaitCallbacks(waitCtx(t), 1)
			require.NoError(t, err)
			require.Len(t, got, 1)
			d := got[0]
			require.Equal(t, id, d.TaskID)
			require.Equal(t, tc.wantStatus, d.JobStatus)
			require.Equal(t, "msg_"+id+"_1", d.MessageID)
			require.Equal(t, http.StatusOK, d.Status)
			require.True(t, d.Last)
			reqs := rc.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, tc.wantType, reqs[0].header.Get("Content-Type"))
			require.Equal(t, d.MessageID, reqs[0].header.Get(webhook.HeaderID))
			require.Empty(t, reqs[0].header.Get(webhook.HeaderSignature), "unsigned without CallbackSecrets")
			taskID, state := reported(t, tc.format, reqs[0].body)
			require.Equal(t, id, taskID)
			require.Equal(t, tc.wantReported, state)
			_, _, st := do(t, s.Handler(), "GET", "/status/"+id, "", nil)
			require.Equal(t, tc.wantStatus, st["status"], "polling still works for pushed jobs")
		})
	}
}

func TestCallbacks_XMLIsATaskFinishDocument(t *testing.T) {
	s := newService(t)
	rc := newReceiver(t)
	id := submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 600, "callbackUrl": %q, "callbackFormat": "xml"}`, rc.URL))
	require.True(t, s.Finish(id, "SUCCESS"))
	_, err := s.WaitCallbacks(waitCtx(t), 1)
	require.NoError(t, err)
	body := rc.requests()[0].body
	require.Contains(t, string(body), "<Response>\n  <EventName>TaskFinish</EventName>\n  <JobsDetail>\n    <Code>Success</Code>")
	var doc httpnode.TaskFinish
	require.NoError(t, xml.Unmarshal(body, &doc))
	require.Equal(t, "Success", doc.JobsDetail.Code)
	require.Equal(t, "Success", doc.JobsDetail.State)
	require.Equal(t, id, doc.JobsDetail.JobID)
	require.Equal(t, "SUCCESS", doc.JobsDetail.Output.RemoteStatus)
	for _, ts := range []string{doc.JobsDetail.CreationTime, doc.JobsDetail.EndTime} {
		_, err := time.Parse(time.RFC3339, ts)
		require.NoError(t, err, ts)
	}
}

func TestCallbacks_ProgressThenFinal(t *testing.T) {
	for _, tc := range []struct{ format, wantFirst, wantLast string }{
		{"json", Pending, "SUCCESS"},
		{"xml", "Running", "Success"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			s := newService(t)
			rc := newReceiver(t)
			id := submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 0.05, "callbackUrl": %q, "callbackFormat": %q, "callbackProgress": true}`, rc.URL, tc.format))
			got, err := s.WaitCallbacks(waitCtx(t), 2)
			require.NoError(t, err)
			require.Equal(t, []string{Pending, "SUCCESS"}, []string{got[0].JobStatus, got[1].JobStatus})
			require.Equal(t, []string{"msg_" + id + "_1", "msg_" + id + "_2"}, []string{got[0].MessageID, got[1].MessageID})
			reqs := rc.requests()
			require.Len(t, reqs, 2)
			_, first := reported(t, tc.format, reqs[0].body)
			_, last := reported(t, tc.format, reqs[1].body)
			require.Equal(t, []string{tc.wantFirst, tc.wantLast}, []string{first, last})
		})
	}
}

func TestCallbacks_SignedWithTheSameIDAcrossRetries(t *testing.T) {
	secret, err := webhook.ParseSecret("whsec_dGVzdC1rZXktZm9yLWpvYnNlcnZpY2U=")
	require.NoError(t, err)
	other, err := webhook.ParseSecret("whsec_b3RoZXIta2V5")
	require.NoError(t, err)
	s := newService(t)
	s.CallbackSecrets = []webhook.Secret{secret}
	s.CallbackBackoff = time.Millisecond
	rc := newReceiver(t, http.StatusInternalServerError)
	id := submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 0.05, "callbackUrl": %q}`, rc.URL))
	got, err := s.WaitCallbacks(waitCtx(t), 2)
	require.NoError(t, err)
	require.Equal(t, []int{500, 200}, []int{got[0].Status, got[1].Status})
	require.Equal(t, []int{1, 2}, []int{got[0].Attempt, got[1].Attempt})
	require.Equal(t, []bool{false, true}, []bool{got[0].Last, got[1].Last})
	reqs := rc.requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		msgID, err := webhook.Verify(r.header, r.body, []webhook.Secret{secret}, time.Now(), 0)
		require.NoError(t, err)
		require.Equal(t, "msg_"+id+"_1", msgID, "a retry keeps the delivery's webhook-id")
		_, err = webhook.Verify(r.header, r.body, []webhook.Secret{other}, time.Now(), 0)
		require.ErrorIs(t, err, webhook.ErrSignature)
	}
}

func TestCallbacks_RetriesByAnswer(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answers    []int
		retries    int
		unreached  bool // the receiver is down: no answer at all
		wantStatus []int
	}{
		{"2xx is done", []int{http.StatusNoContent}, 0, false, []int{204}},
		{"400 is not retried", []int{http.StatusBadRequest}, 0, false, []int{400}},
		{"404 is not retried", []int{http.StatusNotFound}, 0, false, []int{404}},
		{"503 is retried", []int{503, 502}, 0, false, []int{503, 502, 200}},
		{"retries run out", []int{500, 500, 500, 500}, 2, false, []int{500, 500, 500}},
		{"no retries", []int{500}, -1, false, []int{500}},
		{"no answer is retried", nil, 1, true, []int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			s.CallbackBackoff = time.Millisecond
			s.CallbackRetries = tc.retries
			rc := newReceiver(t, tc.answers...)
			url := rc.URL
			if tc.unreached {
				down := httptest.NewServer(http.NotFoundHandler())
				url = down.URL
				down.Close()
			}
			submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 0.05, "callbackUrl": %q}`, url))
			got, err := s.WaitCallbacks(waitCtx(t), len(tc.wantStatus))
			require.NoError(t, err)
			var status []int
			for i, d := range got {
				status = append(status, d.Status)
				require.Equal(t, i == len(got)-1, d.Last, "attempt %d", d.Attempt)
				require.Equal(t, tc.unreached, d.Err != "", d.Err)
			}
			require.Equal(t, tc.wantStatus, status)
			if !tc.unreached {
				require.Len(t, rc.requests(), len(tc.wantStatus))
			}
		})
	}
}

func TestCallbacks_RejectBadFields(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"callbackUrl": "ftp://example.com/x"}`, "callbackUrl: not an absolute http or https URL"},
		{`{"callbackUrl": "/relative"}`, "callbackUrl: not an absolute http or https URL"},
		{`{"callbackUrl": "http://127.0.0.1:1/", "callbackFormat": "yaml"}`, `callbackFormat: "yaml" is not supported`},
		{`{"callbackProgress": true}`, "callbackProgress: needs callbackUrl"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			s := newService(t)
			code, _, out := do(t, s.Handler(), "POST", "/jobs", tc.body, nil)
			require.Equal(t, http.StatusBadRequest, code)
			require.Contains(t, out["error"], tc.want)
		})
	}
}

func TestCallbacks_NoneAfterClose(t *testing.T) {
	s := newService(t)
	rc := newReceiver(t)
	id := submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 600, "callbackUrl": %q, "callbackProgress": true}`, rc.URL))
	s.Close() // waits for the progress callback
	require.True(t, s.Finish(id, "SUCCESS"))
	s.Close() // would wait for a final callback had Finish sent one
	got := s.Callbacks()
	require.Len(t, got, 1)
	require.Equal(t, Pending, got[0].JobStatus)
	require.Len(t, rc.requests(), 1)
	_, _, st := do(t, s.Handler(), "GET", "/status/"+id, "", nil)
	require.Equal(t, "SUCCESS", st["status"], "polling works after Close")
}

func TestWaitCallbacks_FailsWhenTheContextEnds(t *testing.T) {
	s := newService(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.WaitCallbacks(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
}
