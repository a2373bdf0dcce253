package activities

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/outbound"
)

func TestLoadParams(t *testing.T) {
	file := filepath.Join(t.TempDir(), "params.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"region": "eu", "env": "prod"}`), 0o600))
	got, err := LoadParams(file, []string{"HTTPNODE_PARAM_env=staging", "HTTPNODE_PARAM_bucket=b1", "PATH=/bin"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"region": "eu", "env": "staging", "bucket": "b1"}, got, "the environment wins over the file")

	require.NoError(t, os.WriteFile(file, []byte(`["not", "an object"]`), 0o600))
	_, err = LoadParams(file, nil)
	require.ErrorContains(t, err, "must be a JSON object of strings")
	_, err = LoadParams("/nonexistent.json", nil)
	require.ErrorContains(t, err, "--params-file: no such file")
	_, err = LoadParams("", []string{"HTTPNODE_PARAM_yyyyMMdd=x"})
	require.ErrorContains(t, err, `"yyyyMMdd" is not a parameter name`)
}

func TestMasker_CoversEncodedForms(t *testing.T) {
	m := &masker{}
	m.add("s3cr+t/=")
	for _, leak := range []string{"s3cr+t/=", "s3cr%2Bt%2F%3D", base64.StdEncoding.EncodeToString([]byte("s3cr+t/=")), base64.URLEncoding.EncodeToString([]byte("s3cr+t/="))} {
		require.Equal(t, "before *** after", m.String("before "+leak+" after"), leak)
	}
}

func TestRenderNode_FailsWithInvalidParameter(t *testing.T) {
	a := New(nil, outbound.Config{})
	a.Params = map[string]string{"region": "eu"}
	out, err := a.RenderNode(context.Background(), RenderInput{
		Node:          httpnode.Node{Request: httpnode.Request{URL: "https://x.example/${region}/${yyyyMMdd-1d}"}},
		ScheduledTime: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	})
	require.NoError(t, err)
	require.Equal(t, "https://x.example/eu/20260228", out.Request.URL)

	_, err = a.RenderNode(context.Background(), RenderInput{Node: httpnode.Node{Request: httpnode.Request{URL: "https://x.example/${nope}"}}})
	app := requireAppError(t, err, httpnode.ErrInvalidParameter, false)
	require.Equal(t, "request.url: unknown parameter ${nope} (define it in the node's params, pass --param nope=..., or set it on the worker as HTTPNODE_PARAM_nope)", app.Message())
}

// FuzzMasking: a secret (of the length the worker takes) never survives
// masking in any text holding it, in any of its forms.
func FuzzMasking(f *testing.F) {
	f.Add("s3cr+t/=value", "before s3cr+t/=value after")
	f.Add("password", "passpasswordword")
	f.Add("ääääääää", "xääääääääy")
	f.Fuzz(func(t *testing.T, secret, text string) {
		if len(secret) < httpnode.MinSecretLength {
			return
		}
		m := &masker{}
		m.add(secret)
		for _, s := range []string{text + secret + text, secret, url.QueryEscape(secret) + text, base64.StdEncoding.EncodeToString([]byte(secret))} {
			if out := m.String(s); strings.Contains(out, secret) {
				t.Fatalf("%q masked to %q still holds the secret", s, out)
			}
		}
	})
}

// FuzzFormValues: a form field's value is its JSON text for numbers and
// booleans, the string itself for strings, and never panics.
func FuzzFormValues(f *testing.F) {
	for _, s := range []string{`"x y"`, `12345678`, `1.50`, `1e400`, `true`, `-0`, `"\u00e4"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		body := []byte(`{"k": ` + raw + `}`)
		if !json.Valid(body) {
			return
		}
		out, _, err := encodeBody(httpnode.Request{Body: body, BodyType: httpnode.BodyForm})
		if err != nil {
			return
		}
		v, err := url.ParseQuery(string(out))
		if err != nil {
			t.Fatalf("form %q does not parse: %v", out, err)
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) == nil {
			if v.Get("k") != s {
				t.Fatalf("string %s sent as %q", raw, v.Get("k"))
			}
		} else if v.Get("k") != strings.TrimSpace(raw) {
			t.Fatalf("%s sent as %q", raw, v.Get("k"))
		}
	})
}

// Parameters cannot blow a node up past the payload budget.
func TestRenderNode_RefusesANodeTooLargeOnceRendered(t *testing.T) {
	a := newActivities()
	a.Params = map[string]string{"big": strings.Repeat("b", 400<<10)}
	n := httpnode.Node{Request: httpnode.Request{URL: "https://x.example/jobs", Headers: map[string]string{"A": "${big}", "B": "${big}", "C": "${big}", "D": "${big}"}}}
	_, err := a.RenderNode(context.Background(), RenderInput{Node: n.WithDefaults()})
	app := requireAppError(t, err, httpnode.ErrInvalidParameter, false)
	require.Contains(t, app.Message(), "with its parameters filled in it is")
}
