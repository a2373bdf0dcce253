package httpnode

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var at = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

func TestRender_Precedence(t *testing.T) {
	n := Node{Name: "export", Params: map[string]string{"region": "node", "only": "n"}, Request: Request{
		URL:   "https://api.example.com/${region}/${global}/${only}",
		Query: map[string]string{"node": "${nodeName}", "wf": "${workflowId}", "run": "${runId}"},
	}}
	env := RenderEnv{Globals: map[string]string{"region": "global", "global": "g"},
		Builtins: map[string]string{"nodeName": "export", "workflowId": "wf-1", "runId": "r-1"}, Time: at}
	out, err := n.Render(env)
	require.NoError(t, err)
	require.Equal(t, "https://api.example.com/node/g/n", out.Request.URL, "node params override globals")
	require.Equal(t, map[string]string{"node": "export", "wf": "wf-1", "run": "r-1"}, out.Request.Query)
	require.Equal(t, map[string]string{"region": "node", "global": "g", "only": "n"}, out.Params, "the params used are recorded")

	// A parent (or starter --param) sets the node's params: they win over the file's and the globals.
	n.Params["region"] = "parent"
	out, err = n.Render(env)
	require.NoError(t, err)
	require.Equal(t, "https://api.example.com/parent/g/n", out.Request.URL)
}

func TestRender_EscapingPerContext(t *testing.T) {
	evil := `a/b?c=d&e#f "q" \ ü`
	n := Node{Params: map[string]string{"p": evil}, Request: Request{
		URL:      "https://api.example.com/files/${p}?name=${p}&x=1#${p}",
		Query:    map[string]string{"q": "${p}"},
		Headers:  map[string]string{"X-P": "v=${p}"},
		Body:     []byte(`{"text": "${p}", "list": ["${p}"], "n": 1}`),
		BodyType: BodyJSON,
	}}
	out, err := n.Render(RenderEnv{Time: at})
	require.NoError(t, err)
	u, err := url.Parse(out.Request.URL)
	require.NoError(t, err)
	require.Equal(t, "api.example.com", u.Host)
	require.Equal(t, "/files/"+evil, u.Path, "one path segment, escaped")
	require.Equal(t, url.Values{"name": {evil}, "x": {"1"}}, u.Query(), "the value cannot add query parameters")
	require.Equal(t, evil, u.Fragment)
	require.Equal(t, evil, out.Request.Query["q"], "query map values are encoded when sent, not here")
	require.Equal(t, "v="+evil, out.Request.Headers["X-P"])
	var body map[string]any
	require.NoError(t, json.Unmarshal(out.Request.Body, &body), "the body stays valid JSON")
	require.Equal(t, evil, body["text"])
	require.Equal(t, []any{evil}, body["list"])
}

func TestRender_Problems(t *testing.T) {
	cases := []struct {
		name string
		node Node
		want string
	}{
		{"unknown parameter names field and fix", Node{Request: Request{URL: "https://x.example/${day}"}},
			"request.url: unknown parameter ${day} (define it in the node's params, pass --param day=..., or set it on the worker as HTTPNODE_PARAM_day)"},
		{"unknown in callback body", Node{Request: Request{URL: "https://x.example"}, Callback: &Callback{Request: Request{URL: "https://x.example/s", Body: []byte(`{"a": "${nope}"}`)}}},
			"callback.body: unknown parameter ${nope}"},
		{"CR/LF into a header", Node{Params: map[string]string{"p": "a\r\nX-Evil: 1"}, Request: Request{URL: "https://x.example", Headers: map[string]string{"X-A": "${p}"}}},
			"request.headers.X-A: a parameter put CR or LF into the header value"},
		{"whole URL parameter that is not a URL", Node{Params: map[string]string{"u": "ftp://x"}, Request: Request{URL: "${u}"}},
			"request.url: parameter ${u} is not an absolute http(s) URL"},
		{"bad time zone", Node{TimeZone: "Mars/Olympus", Request: Request{URL: "https://x.example"}},
			`timeZone: "Mars/Olympus" is not a time zone`},
	}
	for _, tc := range cases {
		_, err := tc.node.Render(RenderEnv{Time: at})
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

func TestRender_WholeURLParameterAndLaterStages(t *testing.T) {
	n := Node{Params: map[string]string{"endpoint": "https://tenant.example.com/jobs?x=1"}, Request: Request{
		URL: "${endpoint}", Headers: map[string]string{"Authorization": "Bearer ${secret.T}", "X-Try": "${attempt}"},
	}, Callback: &Callback{Request: Request{URL: "https://tenant.example.com/status/${taskId}"}}}
	out, err := n.Render(RenderEnv{Time: at})
	require.NoError(t, err)
	require.Equal(t, "https://tenant.example.com/jobs?x=1", out.Request.URL, "the whole URL may be one parameter")
	require.Equal(t, "Bearer ${secret.T}", out.Request.Headers["Authorization"], "secrets stay references")
	require.Equal(t, "${attempt}", out.Request.Headers["X-Try"], "the attempt is filled in per attempt")
	require.Equal(t, "https://tenant.example.com/status/${taskId}", out.Callback.URL)

	second, err := RenderRequest("request", out.Request, &Vars{Builtins: map[string]string{"attempt": "2"}})
	require.NoError(t, err)
	require.Equal(t, "2", second.Headers["X-Try"])
}

func TestRender_TimeZoneOfTheNode(t *testing.T) {
	n := Node{TimeZone: "Asia/Tokyo", Request: Request{URL: "https://x.example/${yyyyMMdd}/${HH}"}}
	out, err := n.Render(RenderEnv{Time: time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, "https://x.example/20261124/05", out.Request.URL)
	require.Equal(t, "Asia/Tokyo", out.TimeZone)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	n.TimeZone = ""
	out, err = n.Render(RenderEnv{Time: time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC), Zone: berlin})
	require.NoError(t, err)
	require.Equal(t, "https://x.example/20261124/00", out.Request.URL, "the worker's zone applies when the node names none")
}

// FuzzRenderURL: whatever the parameter's value, rendering never panics and
// never yields a URL with another scheme or host.
func FuzzRenderURL(f *testing.F) {
	for _, s := range []string{"x", "a/b", "@evil.com", "//evil.com/", "?q=1#f", "%2F..%2F", "${p}", "\r\n", "ü", "http://evil.com", ":80", "", "..", "."} {
		f.Add(s, "/files/${p}?n=${p}#${p}")
	}
	f.Add(".", "/a/${p}${p}/b")
	f.Add("evil.com", "${p}")
	f.Fuzz(func(t *testing.T, value, tail string) {
		tmpl := "https://api.example.com" + tail
		if !strings.HasPrefix(tail, "/") {
			tmpl = "https://api.example.com/" + tail
		}
		n := Node{Params: map[string]string{"p": value}, Request: Request{URL: tmpl}}
		out, err := n.Render(RenderEnv{Time: at})
		if err != nil {
			return // refused: nothing sent
		}
		u, perr := url.Parse(out.Request.URL)
		if perr != nil {
			return // the activity refuses unparseable URLs
		}
		if u.Scheme != "https" || u.Host != "api.example.com" {
			t.Fatalf("template %q with value %q rendered %q: host %q", tmpl, value, out.Request.URL, u.Host)
		}
		// every parameter stays inside its own path segment: the rendered
		// path has the template's segments, none of them made "." or ".."
		tmplPath, _, _ := strings.Cut(strings.TrimPrefix(tmpl, "https://api.example.com"), "?")
		tmplPath, _, _ = strings.Cut(tmplPath, "#")
		ts := strings.Split(ReplaceRefs(tmplPath, func(string) string { return "x" }), "/")
		rs := strings.Split(u.EscapedPath(), "/")
		if len(ts) != len(rs) {
			t.Fatalf("template %q with value %q rendered path %q: %d segments, the template has %d", tmpl, value, u.EscapedPath(), len(rs), len(ts))
		}
		for i := range rs {
			if (rs[i] == "." || rs[i] == "..") && ts[i] != rs[i] {
				t.Fatalf("template %q with value %q rendered the segment %q", tmpl, value, rs[i])
			}
		}
	})
}

// A parameter of dots cannot climb out of its path segment.
func TestRender_DotParametersStayInTheirSegment(t *testing.T) {
	for value, want := range map[string]string{"..": "https://x.example/a/%2E%2E/b", ".": "https://x.example/a/%2E/b", "...": "https://x.example/a/.../b", "../c": "https://x.example/a/..%2Fc/b", "v1.2": "https://x.example/a/v1.2/b"} {
		n := Node{Params: map[string]string{"p": value}, Request: Request{URL: "https://x.example/a/${p}/b"}}
		out, err := n.Render(RenderEnv{Time: at})
		require.NoError(t, err)
		require.Equal(t, want, out.Request.URL, value)
	}
	n := Node{Params: map[string]string{"p": "."}, Request: Request{URL: "https://x.example/a/${p}${p}/b"}}
	out, err := n.Render(RenderEnv{Time: at})
	require.NoError(t, err)
	require.Equal(t, "https://x.example/a/%2E%2E/b", out.Request.URL)
}

func TestNeedsRender(t *testing.T) {
	plain := Node{Request: Request{URL: "https://x.example/jobs", Headers: map[string]string{"Authorization": "Bearer ${secret.T}", "X-Try": "${attempt}"}},
		Callback: &Callback{Request: Request{URL: "https://x.example/status/${taskId}"}}}
	require.False(t, plain.NeedsRender(), "secrets, attempt and taskId are filled in later")
	for _, n := range []Node{
		{Request: Request{URL: "https://x.example/${region}"}},
		{Request: Request{URL: "https://x.example", Query: map[string]string{"d": "${yyyyMMdd}"}}},
		{Request: Request{URL: "https://x.example", Body: []byte(`{"wf": "${workflowId}"}`)}},
		{Request: Request{URL: "https://x.example"}, Callback: &Callback{Request: Request{URL: "https://x.example", Headers: map[string]string{"X-N": "${nodeName}"}}}},
	} {
		require.True(t, n.NeedsRender(), "%+v", n)
	}
}
