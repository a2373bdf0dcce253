package httpnode

import (
	"strings"
	"testing"
	"time"
)

// FuzzDecode: whatever the input, decoding never panics, and a node that
// decodes renders without panicking either.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"request": {"url": "https://x.example/${p}", "query": {"d": "${yyyyMMdd-1d}"}}, "params": {"p": "a"}}`,
		`{"request": {"url": "https://x.example", "auth": {"type": "basic", "username": "u", "password": "${secret.P}"}}, "callback": {"url": "https://x.example/s/${taskId}", "interval": "5s"}}`,
		`{"request": {"url": "https://x.example", "body": {"a": [1, {"b": "${nodeName}"}]}}}`,
		`{"request": {"url": "https://x.example",}}`, "\xEF\xBB\xBF{}", `{"request": {"url": "a", "url": "b"}}`, `[1]`, `{`, `{}{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Decode(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid node: ") {
				t.Fatalf("Decode(%q): an error that is not a ValidationError: %v", data, err)
			}
			return
		}
		_, _ = n.WithDefaults().Render(RenderEnv{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Builtins: map[string]string{"nodeName": "n"}})
	})
}

// FuzzStatusRules: a status pattern either parses or is refused, and
// matching never panics.
func FuzzStatusRules(f *testing.F) {
	for _, s := range []string{"200", "2xx", "200-204", "5XX", "999", "0", "-1", "1xx-2xx", "20x", "200-100"} {
		f.Add(s, 204)
	}
	f.Fuzz(func(t *testing.T, pattern string, code int) {
		_, err := parseStatusPattern(pattern)
		if matched := StatusMatches([]string{pattern}, code); matched && err != nil {
			t.Fatalf("%q is refused but matched %d", pattern, code)
		}
		_, _ = ErrorMessageFor(map[string]string{pattern: "m"}, code)
	})
}

// FuzzLookupBody: looking a path up in any body, JSON or XML, never panics.
func FuzzLookupBody(f *testing.F) {
	for _, s := range []string{`{"data": {"items": [{"state": "DONE"}]}}`, `<Response><JobsDetail><State>Success</State></JobsDetail></Response>`, `<a><b>1</b><b>2</b></a>`, `[1,2]`, `"x"`, `<`, `{"a":`} {
		f.Add("application/json", []byte(s), "data.items.0.state")
		f.Add("text/xml", []byte(s), "JobsDetail.State")
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, path string) {
		_, _ = LookupBody(contentType, body, path)
		_, _ = Lookup(body, path)
	})
}

// FuzzTimeMacros: a macro either parses or is refused; one that parses
// renders at any time without panicking.
func FuzzTimeMacros(f *testing.F) {
	for _, s := range []string{"yyyyMMdd", "yyyyMMdd-1d", "yyyy-MM-dd HH:mm:ss", "timestamp_ms-3h", "yyyyMMdd-1M", "yyyy+1y", "HH:mm-999999999w", "SSS", "yyyyMMdd-1q"} {
		f.Add(s, int64(1772359200))
	}
	f.Fuzz(func(t *testing.T, ref string, unix int64) {
		m, isMacro, err := parseMacro(ref)
		if !isMacro || err != nil {
			return
		}
		_ = m.At(time.Unix(unix%(1<<40), 0).UTC())
	})
}

// FuzzParseBody: whatever a remote sends, reading it for expressions never
// panics, and a rule over it compiles once and evaluates to a value or an
// error.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{`{"code": 0, "data": {"items": [1, 2.5, "x", null, true]}}`, `<R><A>1</A><A>2</A></R>`, `12345678901234567890`, `"x"`, `{"a":`, ``, `<a`} {
		f.Add("application/json", []byte(s))
	}
	rule, err := CompileExpr(ExprResponse, `has(body.code) && body.code == 0`, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		v := ParseBody(contentType, body)
		_, _, _ = rule.Program().Eval(map[string]any{"status": int64(200), "headers": map[string][]string{}, "body": v, "text": string(body)})
	})
}
