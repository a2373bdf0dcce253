package httpnode

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusMatches(t *testing.T) {
	cases := []struct {
		patterns []string
		code     int
		want     bool
	}{
		{[]string{"2xx"}, 200, true},
		{[]string{"2xx"}, 299, true},
		{[]string{"2xx"}, 300, false},
		{[]string{"200", "201", "3xx"}, 302, true},
		{[]string{"200", "201", "3xx"}, 202, false},
		{[]string{"200-204"}, 204, true},
		{[]string{"200-204"}, 205, false},
		{[]string{" 404 "}, 404, true},
		{[]string{"bogus"}, 200, false},
		{nil, 200, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, StatusMatches(tc.patterns, tc.code), "%v %d", tc.patterns, tc.code)
	}
}

func TestErrorMessageFor_ExactBeatsClass(t *testing.T) {
	msgs := map[string]string{"4xx": "client error", "404": "job not found", "400-499": "range", "5xx": "server down"}
	m, ok := ErrorMessageFor(msgs, 404)
	require.True(t, ok)
	require.Equal(t, "job not found", m)
	m, _ = ErrorMessageFor(msgs, 403)
	require.Equal(t, "client error", m, "the narrowest pattern wins")
	m, _ = ErrorMessageFor(msgs, 503)
	require.Equal(t, "server down", m)
	_, ok = ErrorMessageFor(msgs, 302)
	require.False(t, ok)
}

func TestLookup(t *testing.T) {
	body := []byte(`{"taskId": "t-1", "n": 12345678901234567890, "ok": true, "data": {"job": {"id": "j/2"}}, "items": [{"status": "DONE"}], "nil": null, "obj": {}}`)
	cases := []struct{ path, want, err string }{
		{"taskId", "t-1", ""},
		{"n", "12345678901234567890", ""},
		{"ok", "true", ""},
		{"data.job.id", "j/2", ""},
		{"items.0.status", "DONE", ""},
		{"items.1.status", "", `the body has no field "items.1.status"`},
		{"missing", "", `the body has no field "missing"`},
		{"taskId.x", "", `the body has no field "taskId.x"`},
		{"nil", "", `field "nil" is null`},
		{"obj", "", `field "obj" is an object or list, not a value`},
	}
	for _, tc := range cases {
		got, err := Lookup(body, tc.path)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, tc.path)
			continue
		}
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got)
	}
	_, err := Lookup([]byte("<html>"), "status")
	require.EqualError(t, err, "the body is not JSON")
}

func TestStatusURL(t *testing.T) {
	cases := []struct{ base, id, want string }{
		{"http://h/status", "abc", "http://h/status/abc"},
		{"http://h/status/", "abc", "http://h/status/abc"},
		{"http://h/status?x=1", "abc", "http://h/status/abc?x=1"},
		{"http://h/status", "a/b?c=d", "http://h/status/a%2Fb%3Fc=d"},
		{"http://h/status", "../admin", "http://h/status/..%2Fadmin"},
		{"http://h/jobs/${taskId}/state", "a b", "http://h/jobs/a%20b/state"},
		{"http://h/state?id=${taskId}&v=1", "x&admin=1", "http://h/state?id=x%26admin%3D1&v=1"},
		{"http://h/state?id=${taskId}", "42", "http://h/state?id=42"},
	}
	for _, tc := range cases {
		got, err := StatusURL(tc.base, tc.id)
		require.NoError(t, err, tc.base)
		require.Equal(t, tc.want, got)
	}
	for _, id := range []string{"", ".", ".."} {
		_, err := StatusURL("http://h/s", id)
		require.Error(t, err, id)
	}
}

func TestRenderRequest_TaskIDInCallbackFields(t *testing.T) {
	r := Request{
		Query:   map[string]string{"id": "${taskId}", "keep": "k"},
		Headers: map[string]string{"X-Task": "task ${taskId}", "Authorization": "Bearer ${secret.T}"},
		Body:    []byte(`{"job": {"id": "${taskId}"}, "big": 12345678901234567890}`),
	}
	got, err := RenderRequest("callback", r, &Vars{Builtins: map[string]string{"taskId": "t-9"}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"id": "t-9", "keep": "k"}, got.Query)
	require.Equal(t, "task t-9", got.Headers["X-Task"])
	require.Equal(t, "Bearer ${secret.T}", got.Headers["Authorization"], "secrets are left for the worker")
	require.JSONEq(t, `{"job": {"id": "t-9"}, "big": 12345678901234567890}`, string(got.Body))
	require.Equal(t, "${taskId}", r.Query["id"], "the input is not changed")
}

func TestResponseExcerpt(t *testing.T) {
	require.Equal(t, "", Response{}.Excerpt())
	require.Equal(t, ": a b", Response{Body: "a\n  b"}.Excerpt())
	long := Response{Body: strings.Repeat("é", 300)}.Excerpt()
	require.True(t, strings.HasSuffix(long, "…"))
	require.LessOrEqual(t, len(long), excerptLen+len(": …"))
	require.Equal(t, "", Response{Body: "AAEC", BodyEncoding: "base64"}.Excerpt())
	require.Equal(t, []byte{0, 1, 2}, Response{Body: "AAEC", BodyEncoding: "base64"}.BodyBytes())
}

func TestRedactURL(t *testing.T) {
	require.Equal(t, "https://h/p", RedactURL("https://h/p?key=s3cret"))
	require.Equal(t, "https://h/p", RedactURL("https://h/p"))
}
