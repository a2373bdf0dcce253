package activities

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/internal/secrets"
)

// loopback binds the tests' secrets to their servers on 127.0.0.1.
const loopback = "http://127.0.0.1:*,https://127.0.0.1:*"

var testEnv = map[string]string{
	"HTTPNODE_SECRET_TOKEN":       "tok-123456",
	"HTTPNODE_SECRET_TOKEN_HOSTS": loopback,
	"HTTPNODE_SECRET_PASS":        "pa ss&word",
	"HTTPNODE_SECRET_PASS_HOSTS":  loopback,
	"HTTPNODE_SECRET_KEY":         "key-987654",
	"HTTPNODE_SECRET_KEY_HOSTS":   loopback,
	"HTTPNODE_SECRET_HOOK":        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"HTTPNODE_SECRET_HOOK_HOSTS":  loopback,
}

// testSecrets are the node secrets of testEnv.
func testSecrets() *secrets.Nodes { return envSecrets(testEnv) }

// envSecrets are node secrets read from env instead of the process's.
func envSecrets(env map[string]string) *secrets.Nodes {
	return &secrets.Nodes{Store: secrets.Store{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}}
}

func newActivities() *Activities {
	return New(testSecrets(), outbound.Config{Policy: egress.Loopback()})
}

// request returns a valid request to url with defaults applied.
func request(method, url string) httpnode.Request {
	return httpnode.Node{Request: httpnode.Request{Method: method, URL: url}}.WithDefaults().Request
}

// seen records what a test server received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

func recorder(t *testing.T, status int, respBody string) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*s = seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, body: string(b), header: r.Header.Clone()}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, respBody)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func requireAppError(t *testing.T, err error, errType string, retryable bool) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app, "got %v", err)
	require.Equal(t, errType, app.Type(), app.Message())
	require.Equal(t, !retryable, app.NonRetryable(), "retryable mismatch: %s", app.Message())
	return app
}

func TestSendRequest_EveryMethod(t *testing.T) {
	srv, got := recorder(t, 200, `{"ok": true}`)
	for _, m := range httpnode.Methods {
		out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request(m, srv.URL+"/jobs"))})
		require.NoError(t, err, m)
		require.Equal(t, m, got.method)
		require.Equal(t, "/jobs", got.path)
		require.Equal(t, 200, out.Response.StatusCode)
		require.Equal(t, m, out.Sent.Method)
		if m != "HEAD" {
			require.JSONEq(t, `{"ok": true}`, out.Response.Body)
		}
	}
}

func TestSendRequest_QueryHeadersAndBodies(t *testing.T) {
	srv, got := recorder(t, 201, `{}`)
	cases := []struct {
		name, bodyType, body, wantBody, wantType string
	}{
		{"json", "", `{"b": [1, 2], "a": "x"}`, `{"b":[1,2],"a":"x"}`, "application/json"},
		{"form", "form", `{"a": "x y", "n": 12345678, "f": 1.50, "big": 12345678901234567890, "t": true}`, `a=x+y&big=12345678901234567890&f=1.50&n=12345678&t=true`, "application/x-www-form-urlencoded"},
		{"raw", "raw", `"plain text\nline 2"`, "plain text\nline 2", "text/plain; charset=utf-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request("POST", srv.URL+"/jobs?a=1;b=2&keep=%2Fx%20y&flag")
			r.Query = map[string]string{"day": "2026-11-23", "q": "a&b"}
			r.Headers = map[string]string{"X-Trace": "t1"}
			r.Body, r.BodyType = json.RawMessage(tc.body), tc.bodyType
			r = httpnode.Node{Request: r}.WithDefaults().Request
			out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r), IdempotencyKey: "key-1"})
			require.NoError(t, err)
			require.Equal(t, "a=1;b=2&keep=%2Fx%20y&flag&day=2026-11-23&q=a%26b", got.query, "the URL's own query is sent as written, the query map appended")
			require.Equal(t, "t1", got.header.Get("X-Trace"))
			require.Equal(t, tc.wantType, got.header.Get("Content-Type"))
			require.Equal(t, tc.wantBody, got.body)
			require.Equal(t, "key-1", got.header.Get(HeaderIdempotencyKey))
			require.Empty(t, got.header.Get(HeaderTaskGUID), "the task GUID header is sent on retries only")
			require.Equal(t, "key-1", out.Sent.Headers[HeaderIdempotencyKey])
			require.Equal(t, 201, out.Response.StatusCode)
		})
	}
}

func TestSendRequest_AuthKindsAndMasking(t *testing.T) {
	cases := []struct {
		name       string
		auth       httpnode.Auth
		check      func(t *testing.T, s *seen)
		sentHeader string
	}{
		{"bearer", httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}, func(t *testing.T, s *seen) {
			require.Equal(t, "Bearer tok-123456", s.header.Get("Authorization"))
		}, "Bearer ***"},
		{"basic", httpnode.Auth{Type: "basic", Username: "svc", Password: "${secret.PASS}"}, func(t *testing.T, s *seen) {
			require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("svc:pa ss&word")), s.header.Get("Authorization"))
		}, "Basic ***"},
		{"api key header", httpnode.Auth{Type: "apiKey", Key: "${secret.KEY}"}, func(t *testing.T, s *seen) {
			require.Equal(t, "key-987654", s.header.Get("X-API-Key"))
		}, ""},
		{"api key query", httpnode.Auth{Type: "apiKey", Key: "${secret.KEY}", Name: "api_key", In: "query"}, func(t *testing.T, s *seen) {
			require.Equal(t, "api_key=key-987654", s.query)
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The remote echoes every credential back: none may reach the result.
			var got seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = seen{query: r.URL.RawQuery, header: r.Header.Clone()}
				w.Header().Set("X-Echo", r.Header.Get("Authorization")+r.Header.Get("X-API-Key"))
				fmt.Fprintf(w, `{"auth": %q, "key": %q, "query": %q}`, r.Header.Get("Authorization"), r.Header.Get("X-API-Key"), r.URL.RawQuery)
			}))
			defer srv.Close()
			r := request("GET", srv.URL)
			r.Auth = &tc.auth
			out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			require.NoError(t, err)
			tc.check(t, &got)
			if tc.sentHeader != "" {
				require.Equal(t, tc.sentHeader, out.Sent.Headers["Authorization"])
			}
			all, _ := json.Marshal(out)
			for _, secret := range []string{"tok-123456", "pa ss&word", "pa+ss%26word", "key-987654", base64.StdEncoding.EncodeToString([]byte("svc:pa ss&word"))} {
				require.NotContains(t, string(all), secret)
			}
			require.Contains(t, string(all), "***")
		})
	}
}

func TestSendRequest_MissingSecretIsFinal(t *testing.T) {
	r := request("GET", "http://127.0.0.1:1/")
	r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.NOPE}"}
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrSecretNotFound, false)
	require.Contains(t, app.Message(), "request.auth.token: secret NOPE is not set (set environment variable HTTPNODE_SECRET_NOPE on the worker)")
}

func TestSendRequest_StatusClassification(t *testing.T) {
	cases := []struct {
		status    int
		success   []string
		errType   string
		retryable bool
	}{
		{200, nil, "", false},
		{204, nil, "", false},
		{302, nil, httpnode.ErrHTTPStatus, false},
		{302, []string{"2xx", "3xx"}, "", false},
		{202, []string{"202"}, "", false},
		{200, []string{"202"}, httpnode.ErrHTTPStatus, false},
		{400, nil, httpnode.ErrHTTPStatus, false},
		{404, nil, httpnode.ErrHTTPStatus, false},
		{408, nil, httpnode.ErrHTTPStatus, true},
		{429, nil, httpnode.ErrHTTPStatus, true},
		{500, nil, httpnode.ErrHTTPStatus, true},
		{501, nil, httpnode.ErrHTTPStatus, false},
		{502, nil, httpnode.ErrHTTPStatus, true},
		{503, nil, httpnode.ErrHTTPStatus, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status, tc.success), func(t *testing.T) {
			srv, _ := recorder(t, tc.status, `{"error": "nope"}`)
			r := request("POST", srv.URL)
			if tc.success != nil {
				r.SuccessStatus = tc.success
			}
			out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			if tc.errType == "" {
				require.NoError(t, err)
				require.Equal(t, tc.status, out.Response.StatusCode)
				return
			}
			app := requireAppError(t, err, tc.errType, tc.retryable)
			var details SendRequestOutput
			require.NoError(t, app.Details(&details), "the response travels with the error")
			require.Equal(t, tc.status, details.Response.StatusCode)
		})
	}
}

func TestSendRequest_ErrorMessages(t *testing.T) {
	srv, _ := recorder(t, 404, `{"error": "no such queue"}`)
	r := request("POST", srv.URL+"/jobs")
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrHTTPStatus, false)
	require.Equal(t, `request: POST `+srv.URL+`/jobs answered 404 Not Found: {"error": "no such queue"}`, app.Message())

	r.ErrorMessages = map[string]string{"404": "the job queue does not exist", "4xx": "rejected"}
	_, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app = requireAppError(t, err, httpnode.ErrHTTPStatus, false)
	require.Equal(t, "request: the job queue does not exist (HTTP 404)", app.Message())
}

func TestSendRequest_RetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{"86400", MaxRetryAfter},
		{"", 0},
		{"soon", 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
		srv.Close()
		app := requireAppError(t, err, httpnode.ErrHTTPStatus, true)
		require.Equal(t, tc.want, app.NextRetryDelay(), tc.header)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	require.Equal(t, 90*time.Second, retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	require.Equal(t, time.Duration(0), retryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now))
}

func TestSendRequest_TimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := request("GET", srv.URL)
	r.Timeout = httpnode.Duration(50 * time.Millisecond)
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrTimeout, true)
	require.Contains(t, app.Message(), "no response within 50ms (raise request.timeout")
}

func TestSendRequest_ConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", addr+"/x?key=s3cret"))})
	app := requireAppError(t, err, httpnode.ErrTransport, true)
	require.Contains(t, app.Message(), "connection refused")
	require.NotContains(t, app.Message(), "s3cret", "queries stay out of messages")
}

func TestSendRequest_BodyCap(t *testing.T) {
	big := strings.Repeat("x", 1000)
	srv, _ := recorder(t, 200, big)
	r := request("GET", srv.URL)
	r.MaxResponseBytes = 100
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.True(t, out.Response.Truncated)
	require.Equal(t, big[:100], out.Response.Body)

	r.MaxResponseBytes = 1000
	out, err = newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.False(t, out.Response.Truncated, "a body exactly at the cap is whole")
}

// An endless body is cut at the cap instead of being read until the timeout.
func TestSendRequest_EndlessBodyIsCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	r := request("GET", srv.URL)
	r.MaxResponseBytes = 1024
	r.Timeout = httpnode.Duration(5 * time.Second)
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.True(t, out.Response.Truncated)
	require.Len(t, out.Response.Body, 1024)
}

func TestSendRequest_BinaryBodyIsBase64(t *testing.T) {
	srv, _ := recorder(t, 200, "\xff\x00\x01")
	out, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(request("GET", srv.URL))})
	require.NoError(t, err)
	require.Equal(t, "base64", out.Response.BodyEncoding)
	require.Equal(t, []byte("\xff\x00\x01"), out.Response.BodyBytes())
}

func TestSendRequest_RedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer srv.Close()
	r := request("GET", srv.URL)
	r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.TOKEN}"}
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	requireAppError(t, err, httpnode.ErrHTTPStatus, false)
	require.Zero(t, followed.Load())
}

// ready is r as the workflow hands it over: rendered for attempt 1.
func ready(r httpnode.Request) httpnode.Ready {
	rd, err := httpnode.Rendered{Request: r}.ForAttempt(1).Main()
	if err != nil {
		panic(err)
	}
	return rd
}
