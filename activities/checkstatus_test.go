package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

func checkInput(url string, edit ...func(*httpnode.Request)) CheckStatusInput {
	cb := httpnode.Node{Callback: &httpnode.Callback{Request: httpnode.Request{URL: url}}}.WithDefaults().Callback
	for _, e := range edit {
		e(&cb.Request)
	}
	return CheckStatusInput{Request: ready(cb.Request), StatusField: cb.StatusField, Pending: cb.Pending, Success: cb.Success}
}

func TestCheckStatus_Outcomes(t *testing.T) {
	cases := []struct {
		body, outcome, status string
		keepsBody             bool
	}{
		{`{"status": "PROCESSING"}`, OutcomePending, "PROCESSING", false},
		{`{"status": "SUCCESS", "output": "s3://x"}`, OutcomeSuccess, "SUCCESS", true},
		{`{"status": "FAILED", "reason": "disk full"}`, OutcomeFailure, "FAILED", true},
	}
	for _, tc := range cases {
		srv, got := recorder(t, 200, tc.body)
		out, err := newActivities().CheckStatus(context.Background(), checkInput(srv.URL+"/status/t-1"))
		require.NoError(t, err)
		require.Equal(t, "/status/t-1", got.path)
		require.Equal(t, tc.outcome, out.Outcome)
		require.Equal(t, tc.status, out.Status)
		require.Equal(t, tc.keepsBody, out.Response != nil, "bodies are kept for final statuses only")
	}
}

func TestCheckStatus_NestedFieldAndPost(t *testing.T) {
	srv, got := recorder(t, 200, `{"data": {"state": "DONE"}}`)
	in := checkInput(srv.URL+"/query", func(r *httpnode.Request) {
		r.Method, r.Body, r.BodyType = "POST", []byte(`{"taskId": "t-1"}`), httpnode.BodyJSON
	})
	in.StatusField = "data.state"
	in.Success = []string{"DONE"}
	out, err := newActivities().CheckStatus(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, OutcomeSuccess, out.Outcome)
	require.Equal(t, "POST", got.method)
	require.Equal(t, `{"taskId":"t-1"}`, got.body)
}

func TestCheckStatus_BadResponses(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		errType   string
		retryable bool
		msg       string
	}{
		{"not found", 404, `{"error": "unknown task"}`, httpnode.ErrHTTPStatus, false, "answered 404 Not Found"},
		{"server error", 503, ``, httpnode.ErrHTTPStatus, true, "answered 503"},
		{"not json", 200, `<html>ok</html>`, httpnode.ErrCallbackResponse, false, "the body is not JSON (set callback.statusField"},
		{"no status field", 200, `{"state": "DONE"}`, httpnode.ErrCallbackResponse, false, `the body has no field "status"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := recorder(t, tc.status, tc.body)
			_, err := newActivities().CheckStatus(context.Background(), checkInput(srv.URL+"/status/t"))
			app := requireAppError(t, err, tc.errType, tc.retryable)
			require.Contains(t, app.Message(), tc.msg)
		})
	}
}

func TestCheckStatus_TruncatedBodySaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"pad": "` + strings.Repeat("x", 500) + `", "status": "SUCCESS"}`))
	}))
	defer srv.Close()
	in := checkInput(srv.URL, func(r *httpnode.Request) { r.MaxResponseBytes = 100 })
	_, err := newActivities().CheckStatus(context.Background(), in)
	app := requireAppError(t, err, httpnode.ErrCallbackResponse, false)
	require.Contains(t, app.Message(), "cut at callback.maxResponseBytes")
}

func TestCheckStatus_IntervalHints(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/retry-after" {
			w.Header().Set("Retry-After", "120")
			_, _ = w.Write([]byte(`{"status": "PROCESSING"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status": "PROCESSING", "poll": {"afterSeconds": 45}}`))
	}))
	defer srv.Close()
	out, err := newActivities().CheckStatus(context.Background(), checkInput(srv.URL+"/retry-after"))
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, out.NextInterval.D(), "Retry-After is a hint, not capped here")
	in := checkInput(srv.URL + "/field")
	in.IntervalField = "poll.afterSeconds"
	out, err = newActivities().CheckStatus(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, 45*time.Second, out.NextInterval.D())
	out, err = newActivities().CheckStatus(context.Background(), checkInput(srv.URL+"/field"))
	require.NoError(t, err)
	require.Zero(t, out.NextInterval, "no hint without a field or header")
}
