package jobservice

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAsyncJobs_AcceptedThenDoneAtTheLocation(t *testing.T) {
	s := newService(t)
	h := s.Handler()
	code, hdr, out := do(t, h, "POST", "/async-jobs", `{"polls": 2}`, nil)
	require.Equal(t, http.StatusAccepted, code)
	id, _ := out["taskId"].(string)
	require.NotEmpty(t, id)
	require.Equal(t, Pending, out["status"])
	require.Equal(t, "/operations/"+id, hdr.Get("Location"))
	require.Equal(t, "1", hdr.Get("Retry-After"))

	code, hdr, out = do(t, h, "GET", "/operations/"+id, "", nil)
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, "1", hdr.Get("Retry-After"))
	require.Equal(t, Pending, out["status"])

	code, hdr, out = do(t, h, "GET", "/operations/"+id, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, hdr.Get("Retry-After"))
	require.Equal(t, map[string]any{"taskId": id, "status": "SUCCESS", "result": map[string]any{"rows": 42.0}}, out)
	require.EqualValues(t, 1, s.Submissions())
	require.EqualValues(t, 2, s.Polls())
}

func TestOperations_Answers(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer t0k"}
	for _, tc := range []struct {
		name       string
		setup      func(t *testing.T, s *Service) string
		header     map[string]string
		wantCode   int
		wantStatus string
		wantError  string
	}{
		{"failed", func(t *testing.T, s *Service) string {
			_, _, out := do(t, s.Handler(), "POST", "/async-jobs", `{"polls": 1, "outcome": "failed"}`, auth)
			return out["taskId"].(string)
		}, auth, http.StatusConflict, "FAILED", "the job failed"},
		{"cancelled", func(t *testing.T, s *Service) string {
			_, _, out := do(t, s.Handler(), "POST", "/async-jobs", `{"seconds": 600}`, auth)
			do(t, s.Handler(), "DELETE", "/jobs/"+out["taskId"].(string), "", auth)
			return out["taskId"].(string)
		}, auth, http.StatusConflict, "CANCELLED", "the job was cancelled"},
		{"a /jobs job", func(t *testing.T, s *Service) string {
			_, _, out := do(t, s.Handler(), "POST", "/jobs", `{"seconds": 600}`, auth)
			require.True(t, s.Finish(out["taskId"].(string), "SUCCESS"))
			return out["taskId"].(string)
		}, auth, http.StatusOK, "SUCCESS", ""},
		{"unknown", func(*testing.T, *Service) string { return "job-nope" }, auth, http.StatusNotFound, "", `unknown operation "job-nope"`},
		{"no token", func(t *testing.T, s *Service) string {
			_, _, out := do(t, s.Handler(), "POST", "/async-jobs", `{"seconds": 600}`, auth)
			return out["taskId"].(string)
		}, nil, http.StatusUnauthorized, "", "missing or wrong bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			s.Token = "t0k"
			id := tc.setup(t, s)
			code, _, out := do(t, s.Handler(), "GET", "/operations/"+id, "", tc.header)
			require.Equal(t, tc.wantCode, code, out)
			if tc.wantStatus != "" {
				require.Equal(t, id, out["taskId"])
				require.Equal(t, tc.wantStatus, out["status"])
			}
			if tc.wantError != "" {
				require.Contains(t, out["error"], tc.wantError)
			}
		})
	}
}

func TestAsyncJobs_RejectsWhatJobsRejects(t *testing.T) {
	s := newService(t)
	code, hdr, out := do(t, s.Handler(), "POST", "/async-jobs", `{"secs": 1}`, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Empty(t, hdr.Get("Location"))
	require.Contains(t, out["error"], `unknown field "secs"`)
}
