package jobservice

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCancel(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer t0k"}
	for _, tc := range []struct {
		name       string
		setup      func(t *testing.T, s *Service) string // returns the id to cancel
		header     map[string]string
		wantCode   int
		wantStatus string // the answer's status, then what /status reports
	}{
		{"running job", func(t *testing.T, s *Service) string {
			return submit(t, s.Handler(), `{"seconds": 600}`)
		}, auth, http.StatusAccepted, "CANCELLED"},
		{"finished job", func(t *testing.T, s *Service) string {
			id := submit(t, s.Handler(), `{"polls": 1, "outcome": "failed"}`)
			do(t, s.Handler(), "GET", "/status/"+id, "", auth)
			return id
		}, auth, http.StatusConflict, "FAILED"},
		{"finished by Finish", func(t *testing.T, s *Service) string {
			id := submit(t, s.Handler(), `{"seconds": 600}`)
			require.True(t, s.Finish(id, "SUCCESS"))
			return id
		}, auth, http.StatusConflict, "SUCCESS"},
		{"cancelled twice", func(t *testing.T, s *Service) string {
			id := submit(t, s.Handler(), `{"seconds": 600}`)
			code, _, _ := do(t, s.Handler(), "DELETE", "/jobs/"+id, "", auth)
			require.Equal(t, http.StatusAccepted, code)
			return id
		}, auth, http.StatusConflict, "CANCELLED"},
		{"unknown job", func(*testing.T, *Service) string { return "job-nope" }, auth, http.StatusNotFound, ""},
		{"no token", func(t *testing.T, s *Service) string {
			return submit(t, s.Handler(), `{"seconds": 600}`)
		}, nil, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			h := s.Handler()
			id := tc.setup(t, s)
			s.Token = "t0k"
			before := s.Cancels()
			code, _, out := do(t, h, "DELETE", "/jobs/"+id, "", tc.header)
			require.Equal(t, tc.wantCode, code, out)
			require.Equal(t, before+1, s.Cancels())
			require.Equal(t, tc.header != nil, s.Cancelled(id), "an authorized DELETE is recorded")
			if tc.wantStatus == "" {
				require.NotEmpty(t, out["error"])
				return
			}
			require.Equal(t, id, out["taskId"])
			require.Equal(t, tc.wantStatus, out["status"])
			_, _, st := do(t, h, "GET", "/status/"+id, "", auth)
			require.Equal(t, tc.wantStatus, st["status"])
		})
	}
}

func TestCancel_NoTokenLeavesTheJobRunning(t *testing.T) {
	s := newService(t)
	s.Token = "t0k"
	auth := map[string]string{"Authorization": "Bearer t0k"}
	_, _, out := do(t, s.Handler(), "POST", "/jobs", `{"seconds": 600}`, auth)
	id := out["taskId"].(string)
	code, _, _ := do(t, s.Handler(), "DELETE", "/jobs/"+id, "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	_, _, st := do(t, s.Handler(), "GET", "/status/"+id, "", auth)
	require.Equal(t, Pending, st["status"])
}

func TestCancel_SendsACancelledCallback(t *testing.T) {
	for _, tc := range []struct{ format, want string }{{"json", "CANCELLED"}, {"xml", "Failed"}} {
		t.Run(tc.format, func(t *testing.T) {
			s := newService(t)
			rc := newReceiver(t)
			id := submit(t, s.Handler(), fmt.Sprintf(`{"seconds": 600, "callbackUrl": %q, "callbackFormat": %q}`, rc.URL, tc.format))
			code, _, _ := do(t, s.Handler(), "DELETE", "/jobs/"+id, "", nil)
			require.Equal(t, http.StatusAccepted, code)
			got, err := s.WaitCallbacks(waitCtx(t), 1)
			require.NoError(t, err)
			require.Equal(t, "CANCELLED", got[0].JobStatus)
			taskID, state := reported(t, tc.format, rc.requests()[0].body)
			require.Equal(t, id, taskID)
			require.Equal(t, tc.want, state)
		})
	}
}
