package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
)

// A node's stored body, from the CLI: "starter run" shows its bodyRef,
// "starter body -workflow-id" writes it whole, checked against its sha256;
// a wrong sha256 or an unknown body is an error, and no file is left.
func TestStarterBody(t *testing.T) {
	body := strings.Repeat(`{"row": "customer,EUR,12.00"},`, 20000) // 600 KB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"name": "report", "request": {"url": %q, "storeBody": true}, "retry": {"count": 0}}`, srv.URL))
	code, stdout, stderr := starter(t, append(append([]string{"run"}, serverFlags()...), "--id", "starter-body", file)...)
	require.Equal(t, exitOK, code, stderr)
	var res httpnode.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	ref := res.Response.BodyRef
	require.NotNil(t, ref)
	sum := sha256.Sum256([]byte(body))
	require.Equal(t, hex.EncodeToString(sum[:]), ref.SHA256)

	out := filepath.Join(t.TempDir(), "report.csv")
	code, _, stderr = starter(t, "body", "--address", server.GetFrontendHostPort(), "--namespace", server.GetDefaultNamespace(), "--body-store", bodiesDir, "-workflow-id", "starter-body", "-o", out)
	require.Equal(t, exitOK, code, stderr)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, body, string(got))
	require.Equal(t, fmt.Sprintf("%d bytes, sha256 %s (checked)\n", len(body), ref.SHA256), stderr)

	code, stdout, _ = starter(t, "body", "--body-store", bodiesDir, ref.URL)
	require.Equal(t, exitOK, code)
	require.Equal(t, body, stdout, "by its URL, to standard output")

	code, _, stderr = starter(t, "body", "--body-store", bodiesDir, "--sha256", strings.Repeat("0", 64), "-o", out, ref.URL)
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, "it is not the body the node stored")
	require.NoFileExists(t, out)

	code, _, stderr = starter(t, "body", "--body-store", bodiesDir, "nope")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, `body "nope" is not in the store file://`)

	code, _, stderr = starter(t, "body", ref.URL)
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "--body-store: name the worker's body store")
}

// "starter test" of a node whose body the worker would store shows the
// reference (kept in memory for the test) and its outputs over the whole
// body.
func TestStarterTest_StoredBody(t *testing.T) {
	rows := strings.Repeat(`1,`, 200000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"rows": [%s1]}`, rows)
	}))
	defer srv.Close()
	file := writeNode(t, fmt.Sprintf(`{"request": {"url": %q, "successWhen": "size(body.rows) > 0"}, "outputs": {"rows": "size(body.rows)"}}`, srv.URL))
	code, stdout, stderr := starter(t, "test", "--egress-allow", "127.0.0.1", file)
	require.Equal(t, exitOK, code, stderr+stdout)
	require.Contains(t, stdout, "bytes stored at mem:///local.")
	require.Contains(t, stdout, "request.successWhen  size(body.rows) > 0  → true")
	require.Contains(t, stdout, "rows: 200001")
}
