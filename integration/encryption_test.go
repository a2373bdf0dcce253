package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/httpnode/httpnode/activities"
	"github.com/httpnode/httpnode/codec"
	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/testutil"
	"github.com/httpnode/httpnode/workflows"
)

// With encryption on, the history the server stores holds neither the
// request body nor the error message in plaintext, and the codec server
// decodes them for an operator with the token.
func TestHTTPNode_EncryptedHistory(t *testing.T) {
	const bodyCanary, errorCanary = "plaintext-body-4f1c", "plaintext-error-9d2e"
	key, err := codec.ParseKey("k1", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	require.NoError(t, err)
	cd, err := codec.New(key)
	require.NoError(t, err)
	c := server.NewClientWithOptions(client.Options{DataConverter: codec.DataConverter(cd), FailureConverter: codec.FailureConverter(cd)})

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error": "rejected"}`, http.StatusUnprocessableEntity)
	}))
	defer api.Close()
	f := newFixture(t)
	w := worker.New(c, f.taskQueue, worker.Options{})
	workflows.Register(w, activities.New(nil, testutil.Loopback))
	require.NoError(t, w.Start())
	defer w.Stop()

	node := json.RawMessage(`{"name": "encrypted", "request": {"method": "POST", "url": "` + api.URL + `/jobs",
		"body": {"note": "` + bodyCanary + `"}, "errorMessages": {"422": "` + errorCanary + `"}}, "retry": {"count": 0}}`)
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "encrypted", TaskQueue: f.taskQueue}, workflows.HTTPNodeName, node)
	require.NoError(t, err)
	err = run.Get(context.Background(), nil)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.Contains(t, app.Message(), errorCanary, "a client with the key reads the error")
	require.Equal(t, httpnode.ErrHTTPStatus, app.Type(), "error types stay readable, so parents can match them")

	// What the server stores, read without the key.
	hist := f.history(t, run)
	stored := payloadText(hist) + protojson.Format(hist)
	require.NotContains(t, stored, bodyCanary)
	require.NotContains(t, stored, errorCanary)
	payloads := payloadsOf(hist)
	require.NotEmpty(t, payloads)
	for _, p := range payloads {
		require.Equal(t, codec.Encoding, string(p.GetMetadata()["encoding"]), "every payload is encrypted")
	}

	// The codec server decodes the stored payloads for a caller with the token.
	h, err := codec.NewServer(cd, codec.ServerOptions{Token: "ops-token"})
	require.NoError(t, err)
	cs := httptest.NewServer(h)
	defer cs.Close()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	decode := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, cs.URL+"/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out commonpb.Payloads
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, protojson.Unmarshal(b, &out))
			var text strings.Builder
			for _, p := range out.Payloads {
				text.Write(p.GetData())
			}
			return resp.StatusCode, text.String()
		}
		return resp.StatusCode, string(b)
	}
	code, _ := decode("wrong")
	require.Equal(t, http.StatusUnauthorized, code)
	code, text := decode("ops-token")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, text, bodyCanary)
	require.Contains(t, text, errorCanary)
}
