package callbackurl

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestURL_RoutesBackToItsParts(t *testing.T) {
	m := Minter{Base: "http://127.0.0.1:8235/", Key: []byte("k1")}
	u, token := m.URL("nightly export/2026 11?x", "0a1b-2c")
	require.True(t, strings.HasPrefix(u, "http://127.0.0.1:8235/callbacks/nightly%20export%2F2026%2011%3Fx/0a1b-2c/"), u)
	require.True(t, strings.HasSuffix(u, "/"+token))

	var wf, key, tok string
	mux := http.NewServeMux()
	mux.HandleFunc(Pattern, func(_ http.ResponseWriter, r *http.Request) {
		wf, key, tok = r.PathValue("workflowID"), r.PathValue("attemptKey"), r.PathValue("token")
	})
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", strings.TrimPrefix(u, "http://127.0.0.1:8235"), nil))
	require.Equal(t, "nightly export/2026 11?x", wf)
	require.Equal(t, "0a1b-2c", key)
	require.True(t, Verify(m.Key, wf, key, tok))
}

func TestVerify_BindsKeyWorkflowAndAttempt(t *testing.T) {
	tok := Token([]byte("k1"), "wf", "a1")
	require.True(t, Verify([]byte("k1"), "wf", "a1", tok))
	require.False(t, Verify([]byte("k2"), "wf", "a1", tok), "another key")
	require.False(t, Verify([]byte("k1"), "wf2", "a1", tok), "another workflow")
	require.False(t, Verify([]byte("k1"), "wf", "a2", tok), "another attempt")
	require.False(t, Verify([]byte("k1"), "wf", "a1", tok[:len(tok)-1]), "cut")
	require.Len(t, tok, 43, "256 bits, base64url")
}

func TestCheckBase(t *testing.T) {
	require.NoError(t, CheckBase("https://hooks.example.com/httpnode"))
	for _, bad := range []string{"", "hooks.example.com", "ftp://x", "https://x/?a=1"} {
		require.ErrorContains(t, CheckBase(bad), "--callback-base-url", bad)
	}
}
