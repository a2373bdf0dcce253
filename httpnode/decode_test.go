package httpnode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecode_ValidNode(t *testing.T) {
	n, err := Decode([]byte(`{
		"name": "export",
		"request": {"method": "post", "url": "https://api.example.com/jobs", "body": {"kind": "daily"},
			"auth": {"type": "bearer", "token": "${secret.API_TOKEN}"}, "timeout": "15s"},
		"callback": {"url": "https://api.example.com/status", "interval": "30s", "maxPolls": 10},
		"retry": {"count": 0},
		"timeout": "2h"
	}`))
	require.NoError(t, err)
	require.Equal(t, "export", n.Name)
	require.Equal(t, "15s", n.Request.Timeout.String())
	require.Equal(t, 0, *n.Retry.Count)
	d := n.WithDefaults()
	require.Equal(t, "POST", d.Request.Method)
	require.Equal(t, BodyJSON, d.Request.BodyType)
	require.Equal(t, []string{"PROCESSING"}, d.Callback.Pending)
	require.Equal(t, []string{"SUCCESS"}, d.Callback.Success)
	require.Equal(t, "taskId", d.Callback.TaskIDField)
	require.Equal(t, DefaultPollDeadline, d.Callback.Deadline.D())
	require.Equal(t, 0, *d.Retry.Count, "an explicit retry count of 0 is kept")
	require.Equal(t, DefaultRetryCount, *Node{}.WithDefaults().Retry.Count)
}

// Each bad input is rejected with the field path and what is allowed.
func TestDecode_RejectsWithFieldPath(t *testing.T) {
	const base = `"url": "https://api.example.com/jobs"`
	cases := []struct {
		name, input, want string
	}{
		{"empty", ``, `node: input is empty`},
		{"not an object", `[1]`, `node: must be an object`},
		{"unknown top field", `{"request": {` + base + `}, "retries": 1}`, `retries: unknown field (did you mean "retry"?)`},
		{"misspelt nested field", `{"request": {` + base + `, "methd": "GET"}}`, `request.methd: unknown field (did you mean "method"?)`},
		{"case matters", `{"request": {"URL": "https://x.example"}}`, `request.URL: unknown field (did you mean "url"?)`},
		{"far-off field lists the allowed", `{"request": {` + base + `}, "zzzzzzzz": 1}`, `zzzzzzzz: unknown field (allowed: callback, cancel, description,`},
		{"bad duration", `{"request": {` + base + `}, "callback": {"url": "https://x.example/s", "interval": "5x"}}`, `callback.interval: "5x" is not a duration (use e.g. "5s", "1m"`},
		{"numeric duration", `{"request": {` + base + `, "timeout": 30}}`, `request.timeout: 30 is not a duration`},
		{"bad method", `{"request": {` + base + `, "method": "FETCH"}}`, `request.method: "FETCH" is not supported (use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)`},
		{"ftp url", `{"request": {"url": "ftp://x.example/f"}}`, `request.url: scheme "ftp" is not supported (use http or https)`},
		{"relative url", `{"request": {"url": "/jobs"}}`, `request.url: scheme "" is not supported`},
		{"missing url", `{"request": {}}`, `request.url: is required`},
		{"url with credentials", `{"request": {"url": "https://u:p@x.example/"}}`, `request.url: must not carry credentials`},
		{"callback without url", `{"request": {` + base + `}, "callback": {"interval": "5s"}}`, `callback.url: is required when callback is set`},
		{"negative retry count", `{"request": {` + base + `}, "retry": {"count": -1}}`, `retry.count: -1 is out of range (use 0 to 100`},
		{"retry count not a number", `{"request": {` + base + `}, "retry": {"count": "two"}}`, `retry.count: must be a whole number`},
		{"headers not strings", `{"request": {` + base + `, "headers": {"X-N": 1}}}`, `request.headers: must be an object whose values are strings`},
		{"literal bearer token", `{"request": {` + base + `, "auth": {"type": "bearer", "token": "abc123"}}}`, `request.auth.token: must be a secret reference such as ${secret.API_TOKEN}, not a literal value`},
		{"literal basic password", `{"request": {` + base + `, "auth": {"type": "basic", "username": "u", "password": "hunter2"}}}`, `request.auth.password: must be a secret reference`},
		{"literal api key", `{"request": {` + base + `, "auth": {"type": "apiKey", "key": "k"}}}`, `request.auth.key: must be a secret reference`},
		{"unknown auth type", `{"request": {` + base + `, "auth": {"type": "oauth"}}}`, `request.auth.type: "oauth" is not supported (use "bearer", "basic" or "apiKey")`},
		{"literal authorization header", `{"request": {` + base + `, "headers": {"Authorization": "Bearer abc"}}}`, `request.headers.Authorization: carries a credential as a literal value`},
		{"header with newline", `{"request": {` + base + `, "headers": {"X-A": "a\r\nX-B: b"}}}`, `request.headers.X-A: value must not contain CR or LF`},
		{"secret in url", `{"request": {"url": "https://x.example/${secret.K}"}}`, `request.url: a secret reference is not allowed here`},
		{"bad macro unit", `{"request": {` + base + `, "query": {"day": "${yyyyMMdd-1q}"}}}`, `request.query.day: bad time macro ${yyyyMMdd-1q}: offset unit "q" is not one of y (years), M (months), w (weeks), d (days), H (hours), m (minutes)`},
		{"bad macro pattern", `{"request": {` + base + `, "query": {"day": "${yyyMMdd}"}}}`, `request.query.day: bad time macro ${yyyMMdd}: "yyy" is not a pattern`},
		{"not a reference", `{"request": {` + base + `, "headers": {"X-A": "${a b}"}}}`, `request.headers.X-A: ${a b} is not a reference`},
		{"parameter in host", `{"request": {"url": "https://${tenant}.example.com/jobs"}}`, `request.url: a parameter may not change the URL's scheme or host`},
		{"parameter glued to host", `{"request": {"url": "https://example.com${p}/jobs"}}`, `request.url: a parameter may not change the URL's scheme or host`},
		{"bad param name", `{"request": {` + base + `}, "params": {"yyyyMMdd": "x"}}`, `params.yyyyMMdd: "yyyyMMdd" is not a parameter name`},
		{"bad scheduled time", `{"request": {` + base + `}, "scheduledTime": "yesterday"}`, `scheduledTime: "yesterday" is not an RFC 3339 time`},
		{"taskId outside callback", `{"request": {"url": "https://x.example/${taskId}"}}`, `request.url: ${taskId} is only available in callback, cancel and notify fields`},
		{"bad success status", `{"request": {` + base + `, "successStatus": ["2xx", "abc"]}}`, `request.successStatus[1]: "abc" is not a status pattern`},
		{"bad error message key", `{"request": {` + base + `, "errorMessages": {"oops": "x"}}}`, `request.errorMessages.oops: key "oops" is not a status pattern`},
		{"interval below timer floor", `{"request": {` + base + `}, "callback": {"url": "https://x.example/s", "interval": "200ms"}}`, `callback.interval: 200ms is below the minimum of 1s`},
		{"pending and success overlap", `{"request": {` + base + `}, "callback": {"url": "https://x.example/s", "pending": ["A"], "success": ["A"]}}`, `callback.pending: "A" is also in callback.success`},
		{"bad status field", `{"request": {` + base + `}, "callback": {"url": "https://x.example/s", "statusField": "a..b"}}`, `callback.statusField: "a..b" is not a dotted path`},
		{"bad run status", `{"runStatus": "off", "request": {` + base + `}}`, `runStatus: "off" is not allowed (use "normal" or "skip")`},
		{"bad onFailure", `{"onFailure": "ignore", "request": {` + base + `}}`, `onFailure: "ignore" is not allowed (use "abort" or "continue")`},
		{"form body not an object", `{"request": {` + base + `, "bodyType": "form", "body": [1]}}`, `request.body: must be an object of strings, numbers or booleans for bodyType form`},
		{"raw body not a string", `{"request": {` + base + `, "bodyType": "raw", "body": {"a": 1}}}`, `request.body: must be a JSON string for bodyType raw`},
		{"bad body type", `{"request": {` + base + `, "bodyType": "xml", "body": "x"}}`, `request.bodyType: "xml" is not supported`},
		{"cert without key", `{"request": {` + base + `, "tls": {"certFile": "c.pem"}}}`, `request.tls: certFile and keyFile go together`},
		{"secret cert without key", `{"request": {` + base + `, "tls": {"cert": "${secret.C}"}}}`, `request.tls: cert and key go together`},
		{"ca file outside the TLS dir", `{"request": {` + base + `, "tls": {"caFile": "/etc/ssl/certs/ca.pem"}}}`, `request.tls.caFile: must name a file in the worker's TLS directory (--tls-dir), relative to it`},
		{"ca file climbing out", `{"request": {` + base + `, "tls": {"caFile": "../../etc/passwd"}}}`, `request.tls.caFile: must name a file in the worker's TLS directory`},
		{"key file with a backslash", `{"request": {` + base + `, "tls": {"certFile": "c.pem", "keyFile": "..\\k.pem"}}}`, `request.tls.keyFile: must name a file in the worker's TLS directory`},
		{"literal PEM as ca", `{"request": {` + base + `, "tls": {"ca": "-----BEGIN CERTIFICATE-----"}}}`, `request.tls.ca: must be one secret reference such as ${secret.PARTNER_CA}`},
		{"ca twice", `{"request": {` + base + `, "tls": {"ca": "${secret.CA}", "caFile": "ca.pem"}}}`, `request.tls: give ca (a secret) or caFile (a file under --tls-dir), not both`},
		{"a binding named as a secret", `{"request": {` + base + `, "headers": {"X-A": "${secret.TOKEN_HOSTS}"}}}`, `request.headers.X-A: secret name "TOKEN_HOSTS" ends in _HOSTS`},
		{"a value where a secret name belongs", `{"request": {` + base + `, "headers": {"X-A": "${secret.whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}"}}}`, `request.headers.X-A: this looks like a secret value, not a secret's name (it is not shown)`},
		{"bad proxy", `{"request": {` + base + `, "proxy": "ftp://p"}}`, `request.proxy: "ftp://p" is not a proxy URL`},
		{"response cap too large", `{"request": {` + base + `, "maxResponseBytes": 10485760}}`, `request.maxResponseBytes: 10485760 is out of range`},
		{"negative timeout", `{"timeout": "-1s", "request": {` + base + `}}`, `timeout: must not be negative`},
		{"url too long", `{"request": {"url": "https://x.example/` + strings.Repeat("a", MaxURLBytes) + `"}}`, `request.url: length in bytes is 8210, above the limit of 8192 (move data into the body)`},
		{"too many headers", `{"request": {` + base + `, "headers": {` + manyHeaders(MaxHeaders+1) + `}}}`, `request.headers: number of headers is 65, above the limit of 64`},
		{"body too large", `{"request": {` + base + `, "bodyType": "raw", "body": "` + strings.Repeat("b", MaxRequestBodyBytes) + `"}}`, `request.body: size in bytes is 524290, above the limit of 524288`},
		{"redirects out of range", `{"request": {` + base + `, "followRedirects": true, "maxRedirects": 50}}`, `request.maxRedirects: 50 is out of range (use 1 to 20; 0 means 5)`},
		{"unknown mode", `{"request": {` + base + `}, "callback": {"mode": "webhook"}}`, `callback.mode: "webhook" is not allowed (use "timer", "activity", "retry", "auto", "push", "push+poll" or "location")`},
		{"push without callbackUrl", `{"request": {` + base + `}, "callback": {"mode": "push"}}`, `callback.mode: "push" needs the remote to learn where to call back: put ${callbackUrl} in request.body`},
		{"push with a url", `{"request": {` + base + `, "query": {"cb": "${callbackUrl}"}}, "callback": {"mode": "push", "url": "https://x.example/s"}}`, `callback.url: is not polled with mode "push"`},
		{"push+poll without url", `{"request": {` + base + `, "headers": {"X-Cb": "${callbackUrl}"}}, "callback": {"mode": "push+poll"}}`, `callback.url: is required with mode "push+poll"`},
		{"location with url", `{"request": {` + base + `}, "callback": {"mode": "location", "url": "https://x.example/s"}}`, `callback.url: is not used with mode "location"`},
		{"callbackUrl without push", `{"request": {` + base + `, "body": {"cb": "${callbackUrl}"}}}`, `request.body: ${callbackUrl} is only available in request.query, request.headers and request.body, with callback.mode "push" or "push+poll"`},
		{"callbackUrl in the url", `{"request": {"url": "https://x.example/jobs?cb=${callbackUrl}", "body": {"cb": "${callbackUrl}"}}, "callback": {"mode": "push"}}`, `request.url: ${callbackUrl} is only available in request.query`},
		{"bad push status field", `{"request": {` + base + `, "body": {"cb": "${callbackUrl}"}}, "callback": {"mode": "push", "pushStatusField": "a..b"}}`, `callback.pushStatusField: "a..b" is not a dotted path`},
		{"literal signing secret", `{"request": {` + base + `, "sign": {"secrets": ["whsec_abc"]}}}`, `request.sign.secrets[0]: must be a secret reference such as ${secret.WEBHOOK_SECRET}`},
		{"no signing secret", `{"request": {` + base + `, "sign": {"secrets": []}}}`, `request.sign.secrets: lists no secret`},
		{"notify without url", `{"request": {` + base + `}, "notify": {"format": "xml"}}`, `notify.url: is required when notify is set`},
		{"notify bad format", `{"request": {` + base + `}, "notify": {"url": "https://h.example/n", "format": "yaml"}}`, `notify.format: "yaml" is not supported (use "json" or "xml")`},
		{"notify bad state", `{"request": {` + base + `}, "notify": {"url": "https://h.example/n", "on": ["done"]}}`, `notify.on[0]: "done" is not an end state (use "cancelled", "failed", "partial", "skipped", "succeeded", "timedOut")`},
		{"notify with a body", `{"request": {` + base + `}, "notify": {"url": "https://h.example/n", "body": {"a": 1}}}`, `notify.body: is not allowed (the body is the TaskFinish document`},
		{"notify with GET", `{"request": {` + base + `}, "notify": {"url": "https://h.example/n", "method": "GET"}}`, `notify.method: "GET" is not allowed (a notification is a POST)`},
		{"cancel without url", `{"request": {` + base + `}, "cancel": {"method": "DELETE"}}`, `cancel.url: is required when cancel is set`},
		{"cancel literal token", `{"request": {` + base + `}, "cancel": {"url": "https://x.example/jobs/${taskId}", "auth": {"type": "bearer", "token": "t"}}}`, `cancel.auth.token: must be a secret reference`},
		{"maxRedirects without following", `{"request": {` + base + `, "maxRedirects": 3}}`, `request.maxRedirects: has no effect without followRedirects: true`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.input))
			require.Error(t, err)
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// A TLS path is judged on its text alone: a file that exists on the worker
// and one that does not get the same answer, so validation tells a node
// author nothing about the worker's files.
func TestDecode_TLSPathsAreNotLookedUp(t *testing.T) {
	msg := func(path string) string {
		_, err := Decode([]byte(`{"request": {"url": "https://x.example", "tls": {"caFile": "` + path + `"}}}`))
		require.Error(t, err)
		return strings.ReplaceAll(err.Error(), path, "PATH")
	}
	require.Equal(t, msg("/etc/passwd"), msg("/nonexistent/ca.pem"))
	_, err := Decode([]byte(`{"request": {"url": "https://x.example", "tls": {"caFile": "partner/ca.pem", "cert": "${secret.C}", "key": "${secret.K}"}}}`))
	require.NoError(t, err)
}

func TestDecode_ReportsEveryProblem(t *testing.T) {
	_, err := Decode([]byte(`{"request": {"url": "ftp://x", "methd": "GET", "auth": {"type": "bearer", "token": "abc"}},
		"callback": {"interval": "5x"}, "retry": {"count": -2}, "extra": true}`))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	var paths []string
	for _, p := range verr.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{"callback.interval", "callback.url", "extra", "request.auth.token", "request.methd", "request.url", "retry.count"}, paths)
}

func TestDecode_SecretReferencesAccepted(t *testing.T) {
	for _, auth := range []string{
		`{"type": "bearer", "token": "${secret.T}"}`,
		`{"type": "basic", "username": "svc", "password": "${secret.P}"}`,
		`{"type": "apiKey", "key": "${secret.K}", "name": "key", "in": "query"}`,
	} {
		_, err := Decode([]byte(`{"request": {"url": "https://x.example", "auth": ` + auth + `, "headers": {"Authorization": "Token ${secret.T}"}}}`))
		require.NoError(t, err, auth)
	}
}

func TestNode_RoundTripsThroughJSON(t *testing.T) {
	count := 2
	n := Node{Name: "n", Request: Request{Method: "POST", URL: "https://x.example/jobs", Timeout: Duration(5e9)},
		Callback: &Callback{Request: Request{URL: "https://x.example/status"}, Interval: Duration(3e9)},
		Retry:    &Retry{Count: &count, Interval: Duration(60e9)}}
	b, err := jsonMarshal(n)
	require.NoError(t, err)
	require.False(t, strings.Contains(string(b), `"Request"`), "the embedded request is flattened: %s", b)
	got, err := Decode(b)
	require.NoError(t, err)
	require.Equal(t, n, got)
}

func manyHeaders(n int) string {
	h := make([]string, n)
	for i := range h {
		h[i] = fmt.Sprintf(`"X-H%d": "v"`, i)
	}
	return strings.Join(h, ", ")
}

func TestDecode_FinishingFields(t *testing.T) {
	n, err := Decode([]byte(`{
		"request": {"method": "POST", "url": "https://api.example.com/jobs", "body": {"callbackUrl": "${callbackUrl}"},
			"sign": {"secrets": ["${secret.SIGNING}"]}},
		"callback": {"mode": "push+poll", "url": "https://api.example.com/status/${taskId}", "statusField": "state"},
		"notify": {"url": "https://hooks.example.com/done", "auth": {"type": "bearer", "token": "${secret.HOOK}"}, "tags": {"team": "media"}},
		"cancel": {"method": "DELETE", "url": "https://api.example.com/jobs/${taskId}"}
	}`))
	require.NoError(t, err)
	d := n.WithDefaults()
	require.Equal(t, DefaultSafetyInterval, d.Callback.Interval.D(), "push+poll polls slowly as a safety net")
	require.Equal(t, "state", d.Callback.PushStatusField, "pushes are read where polls are")
	require.Equal(t, "POST", d.Notify.Method)
	require.Equal(t, FormatJSON, d.Notify.Format)
	require.Equal(t, DefaultNotifyTimeout, d.Notify.Timeout.D())
	require.Equal(t, DefaultNotifyTimeout, d.Cancel.Timeout.D())
	require.Equal(t, "DELETE", d.Cancel.Method)

	require.True(t, d.Notify.Notifies(StatusFailed))
	require.True(t, d.Notify.Notifies(StatusCancelled))
	require.False(t, d.Notify.Notifies(StatusSkipped), "skipped nodes notify only when asked")
	only := Notify{On: []string{"skipped", "timedOut"}}
	require.True(t, only.Notifies(StatusSkipped))
	require.True(t, only.Notifies(StatusTimedOut))
	require.False(t, only.Notifies(StatusSucceeded))
}

// Broken JSON is reported as it is, with its line and column, not as "must
// be an object".
func TestDecode_SyntaxErrorsSayWhereAndWhat(t *testing.T) {
	deep := strings.Repeat(`{"a": `, MaxNodeDepth) + `1` + strings.Repeat(`}`, MaxNodeDepth)
	cases := map[string]struct{ input, want string }{
		"trailing comma":  {"{\n  \"request\": {\"url\": \"https://x.example\"},\n}", `node: line 3, column 1: invalid character '}' looking for beginning of object key string (a comma before a closing bracket, or a missing value?)`},
		"byte order mark": {"\xEF\xBB\xBF{\"request\": {\"url\": \"https://x.example\"}}", `node: starts with a UTF-8 byte order mark (line 1, column 1): save the file as UTF-8 without it`},
		"cut short":       {"{\"request\": {\"url\": \"https://x.ex", `node: line 1, column 33: the JSON ends before the node does (is the file cut short?)`},
		"two objects":     {"{\"request\": {\"url\": \"https://x.example\"}}\n{\"request\": {}}", `node: line 2, column 2: more JSON follows the node (give one node object per file)`},
		"not JSON":        {"request: {url: https://x.example}", `node: line 1, column 1: invalid character 'r' looking for beginning of value`},
		"duplicate key":   {`{"request": {"url": "https://a.example", "url": "https://b.example"}}`, `request.url: is given twice (each field may appear once; remove one)`},
		"too deep":        {`{"request": {"url": "https://x.example", "body": ` + deep + `}}`, `nests deeper than 64 levels`},
		"too large":       {`{"request": {"url": "https://x.example", "bodyType": "raw", "body": "` + strings.Repeat("b", MaxNodeBytes) + `"}}`, `node: is larger than the limit of 1048576 bytes (it is 1048648:`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(tc.input))
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "must be an object")
		})
	}
}

func TestDecode_URLAndCredentialHints(t *testing.T) {
	for in, want := range map[string]string{
		`{"request": {"url": "127.0.0.1:8080/x"}}`:                                       `request.url: has no scheme: add http:// or https:// (as in https://127.0.0.1:8080/x)`,
		`{"request": {"url": "https://x.example", "headers": {"Cookie": "sid=abc"}}}`:    `write a reference such as "session=${secret.SESSION_COOKIE}"`,
		`{"request": {"url": "https://x.example", "headers": {"X-Api-Key": "abc123"}}}`:  `write a reference such as "${secret.API_KEY}"`,
		`{"request": {"url": "https://x.example", "headers": {"Authorization": "abc"}}}`: `write a reference such as "Bearer ${secret.API_TOKEN}"`,
	} {
		_, err := Decode([]byte(in))
		require.ErrorContains(t, err, want, in)
	}
	// every problem of a field is shown, a missing scheme behind a bad macro too
	_, err := Decode([]byte(`{"request": {"url": "api.example.com/x/${yyyyMMdd-1q}"}}`))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Problems, 2, err.Error())
	require.Contains(t, err.Error(), `bad time macro ${yyyyMMdd-1q}`)
	require.Contains(t, err.Error(), `has no scheme`)
}

// The rules added since nodes were first decoded (twice-given fields,
// nesting, size) still let the node decode, so that the workflow can run
// nodes started before them as they ran; nothing else counts as such.
func TestDecode_NewRulesOnly(t *testing.T) {
	_, err := Decode([]byte(`{"request": {"url": "https://a.example", "url": "https://b.example"}, "retry": {"count": 1}, "retry": {"count": 0}}`))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.True(t, verr.NewRulesOnly(), err.Error())
	n, _ := Decode([]byte(`{"request": {"url": "https://a.example", "url": "https://b.example"}}`))
	require.Equal(t, "https://b.example", n.Request.URL, "the last wins, as it did")
	_, err = Decode([]byte(`{"request": {"url": "https://a.example", "url": "https://b.example", "method": "FETCH"}}`))
	require.ErrorAs(t, err, &verr)
	require.False(t, verr.NewRulesOnly())
	_, err = Decode([]byte(`{"request": {}}`))
	require.ErrorAs(t, err, &verr)
	require.False(t, verr.NewRulesOnly(), "request.url: is required is no new rule")
}
