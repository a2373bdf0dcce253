package jobservice

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/internal/webhook"
)

// postNotification sends body to POST /notifications with header set by sign.
func postNotification(t *testing.T, h http.Handler, body string, sign func(http.Header)) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/notifications", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sign != nil {
		sign(req.Header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestNotifications_RecordedWithoutSecrets(t *testing.T) {
	s := newService(t)
	s.Token = "t0k" // the sink does not want it
	code := postNotification(t, s.Handler(), `{"EventName":"TaskFinish"}`, func(h http.Header) { h.Set("X-Node", "n1") })
	require.Equal(t, http.StatusNoContent, code)
	got := s.Notifications()
	require.Len(t, got, 1)
	require.Equal(t, `{"EventName":"TaskFinish"}`, string(got[0].Body))
	require.Equal(t, "application/json", got[0].ContentType)
	require.Equal(t, "n1", got[0].Headers.Get("X-Node"))
	require.False(t, got[0].Verified)
	require.False(t, got[0].Time.IsZero())
	require.EqualValues(t, 1, s.NotificationAttempts())
}

func TestNotifications_SignatureRequiredWhenConfigured(t *testing.T) {
	secret, err := webhook.ParseSecret("whsec_bm90aWZ5LXNlY3JldA==")
	require.NoError(t, err)
	wrong, err := webhook.ParseSecret("whsec_d3Jvbmc=")
	require.NoError(t, err)
	const body = `{"EventName":"TaskFinish"}`
	signed := func(secret webhook.Secret, ts time.Time, signedBody string) func(http.Header) {
		return func(h http.Header) {
			webhook.SignHeaders(h, []webhook.Secret{secret}, "msg_1", ts, []byte(signedBody))
		}
	}
	for _, tc := range []struct {
		name      string
		sign      func(http.Header)
		wantCode  int
		wantError string
	}{
		{"good signature", signed(secret, time.Now(), body), http.StatusNoContent, ""},
		{"no signature", nil, http.StatusUnauthorized, "missing signature headers"},
		{"wrong secret", signed(wrong, time.Now(), body), http.StatusUnauthorized, "signature rejected"},
		{"other body", signed(secret, time.Now(), `{}`), http.StatusUnauthorized, "signature rejected"},
		{"stale timestamp", signed(secret, time.Now().Add(-time.Hour), body), http.StatusUnauthorized, "timestamp rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newService(t)
			s.NotifySecrets = []webhook.Secret{secret}
			req := httptest.NewRequest("POST", "/notifications", strings.NewReader(body))
			if tc.sign != nil {
				tc.sign(req.Header)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			require.Equal(t, tc.wantCode, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.wantError)
			require.EqualValues(t, 1, s.NotificationAttempts())
			got := s.Notifications()
			if tc.wantCode != http.StatusNoContent {
				require.Empty(t, got, "rejected notifications are not recorded")
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				return
			}
			require.Len(t, got, 1)
			require.True(t, got[0].Verified)
			require.Equal(t, "msg_1", got[0].WebhookID)
		})
	}
}

func TestNotifications_FailTheFirstN(t *testing.T) {
	s := newService(t)
	s.FailNotifications = 2
	var codes []int
	for range 3 {
		codes = append(codes, postNotification(t, s.Handler(), `{}`, nil))
	}
	require.Equal(t, []int{503, 503, 204}, codes)
	require.EqualValues(t, 3, s.NotificationAttempts())
	require.Len(t, s.Notifications(), 1)
}

func TestWaitNotifications_ReturnsAtTheNth(t *testing.T) {
	s := newService(t)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := range 3 {
			resp, err := http.Post(srv.URL+"/notifications", "text/plain", strings.NewReader(fmt.Sprint(i)))
			if err != nil {
				errs <- err
				return
			}
			_ = resp.Body.Close()
		}
	}()
	got, err := s.WaitNotifications(waitCtx(t), 3)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, []string{"0", "1", "2"}, []string{string(got[0].Body), string(got[1].Body), string(got[2].Body)})
	require.NoError(t, <-errs)
}
