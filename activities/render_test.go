package activities

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
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
	a := New(nil, ClientConfig{})
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
