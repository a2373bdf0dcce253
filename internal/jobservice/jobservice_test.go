package jobservice

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func call(t *testing.T, h http.Handler, method, path, body string, header map[string]string) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec.Code, out
}

func TestJobService_PollsMode(t *testing.T) {
	s := New()
	h := s.Handler()
	code, sub := call(t, h, "POST", "/jobs", `{"polls": 2, "outcome": "failed"}`, nil)
	require.Equal(t, 200, code)
	require.Equal(t, Pending, sub["status"])
	_, st := call(t, h, "GET", "/status/"+sub["taskId"], "", nil)
	require.Equal(t, Pending, st["status"])
	_, st = call(t, h, "GET", "/status/"+sub["taskId"], "", nil)
	require.Equal(t, "FAILED", st["status"])
	_, st = call(t, h, "GET", "/status/"+sub["taskId"], "", nil)
	require.Equal(t, "FAILED", st["status"], "a finished job stays finished")
	require.EqualValues(t, 3, s.Polls())
}

func TestJobService_IdempotencyTokenAndErrors(t *testing.T) {
	s := New()
	s.Token = "t0k"
	h := s.Handler()
	code, _ := call(t, h, "POST", "/jobs", `{}`, nil)
	require.Equal(t, 401, code)
	auth := map[string]string{"Authorization": "Bearer t0k", "Idempotency-Key": "k1"}
	_, a := call(t, h, "POST", "/jobs", `{"seconds": 0.01}`, auth)
	_, b := call(t, h, "POST", "/jobs", `{"seconds": 0.01}`, auth)
	require.Equal(t, a["taskId"], b["taskId"], "the same idempotency key gets the same job")
	require.EqualValues(t, 3, s.Submissions())
	code, e := call(t, h, "POST", "/jobs", `{"secs": 1}`, auth)
	require.Equal(t, 400, code)
	require.Contains(t, e["error"], `unknown field "secs"`)
	code, _ = call(t, h, "GET", "/status/nope", "", auth)
	require.Equal(t, 404, code)
	require.True(t, s.Finish(a["taskId"], "ABORTED"))
	_, st := call(t, h, "GET", "/status/"+a["taskId"], "", auth)
	require.Equal(t, "ABORTED", st["status"])
}
