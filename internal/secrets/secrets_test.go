package secrets

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestStore_EnvThenDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "FROM_FILE"), []byte("file-value\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "BOTH"), []byte("file"), 0o600))
	s := Store{Dir: dir, LookupEnv: envOf(map[string]string{"HTTPNODE_SECRET_BOTH": "env"})}
	v, ok := s.Value("FROM_FILE")
	require.True(t, ok)
	require.Equal(t, "file-value", v, "a trailing newline is dropped")
	v, _ = s.Value("BOTH")
	require.Equal(t, "env", v)
	_, ok = s.Value("MISSING")
	require.False(t, ok)
	_, ok = s.Value("../FROM_FILE")
	require.False(t, ok, "names cannot leave the directory")
	require.Equal(t, "environment variable HTTPNODE_SECRET_MISSING or file "+filepath.Join(dir, "MISSING")+" on the worker", s.Where("MISSING"))
}

func TestKeys_AreNotNodeSecrets(t *testing.T) {
	env := envOf(map[string]string{"HTTPNODE_KEY_CODEC_KEY_1": "a-worker-key-value"})
	keys := Keys("")
	keys.LookupEnv = env
	v, ok := keys.Value("CODEC_KEY_1")
	require.True(t, ok)
	require.Equal(t, "a-worker-key-value", v)
	n := &Nodes{Store: Store{LookupEnv: env}, Default: Loopback}
	_, _, err := n.Resolve("CODEC_KEY_1", mustURL(t, "http://127.0.0.1:8080/"))
	requireReason(t, err, NotSet)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func requireReason(t *testing.T, err error, want Reason) *Error {
	t.Helper()
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, want, se.Reason, se.Error())
	return se
}

func TestParseBinding_Forms(t *testing.T) {
	cases := []struct {
		binding string
		allows  []string
		denies  []string
	}{
		{"api.example.com", []string{"https://api.example.com/x", "https://API.example.com./x", "https://api.example.com:443/"},
			[]string{"http://api.example.com/", "https://api.example.com:8443/", "https://x.api.example.com/", "https://api.example.com.evil.io/", "https://evilapi.example.com/"}},
		{"*.example.com", []string{"https://a.example.com/", "https://a.b.example.com/"}, []string{"https://example.com/", "https://aexample.com/", "http://a.example.com/"}},
		{"api.example.com:8443", []string{"https://api.example.com:8443/"}, []string{"https://api.example.com/"}},
		{"http://10.0.0.7:8080", []string{"http://10.0.0.7:8080/jobs"}, []string{"https://10.0.0.7:8080/", "http://10.0.0.7/", "http://10.0.0.70:8080/"}},
		{"https://api.example.com:*", []string{"https://api.example.com:1/", "https://api.example.com/"}, []string{"http://api.example.com:80/"}},
		{"http://[::1]:*", []string{"http://[::1]:9000/"}, []string{"http://127.0.0.1:9000/"}},
		{"a.example.com, b.example.com\n# a comment\nhttp://c.example.com # trailing", []string{"https://a.example.com/", "https://b.example.com/", "http://c.example.com/"}, []string{"https://c.example.com/"}},
	}
	for _, tc := range cases {
		b, err := ParseBinding(tc.binding)
		require.NoError(t, err, tc.binding)
		for _, u := range tc.allows {
			require.True(t, b.Allows(mustURL(t, u)), "%q should allow %s", tc.binding, u)
		}
		for _, u := range tc.denies {
			require.False(t, b.Allows(mustURL(t, u)), "%q should deny %s", tc.binding, u)
		}
		again, err := ParseBinding(b.String())
		require.NoError(t, err)
		require.Equal(t, b, again, "String round-trips")
	}
}

func TestParseBinding_Refusals(t *testing.T) {
	for in, msg := range map[string]string{
		"":                      "no host in it",
		"# only a comment":      "no host in it",
		"*":                     "give one host name or IP address",
		"*.com":                 "a wildcard needs a domain of at least two labels",
		"ftp://files.example":   `scheme "ftp" is not http or https`,
		"api.example.com/path":  "without a path",
		"user@api.example.com":  "without a path",
		"api.example.com:99999": "is not a port number",
		"a*b.example.com":       "give one host name or IP address",
	} {
		_, err := ParseBinding(in)
		require.ErrorContains(t, err, msg, "binding %q", in)
	}
}

func TestNodes_Resolve(t *testing.T) {
	env := map[string]string{
		"HTTPNODE_SECRET_TOKEN":        "token-value-1",
		"HTTPNODE_SECRET_TOKEN_HOSTS":  "api.example.com",
		"HTTPNODE_SECRET_UNBOUND":      "unbound-value",
		"HTTPNODE_SECRET_BAD":          "bad-binding-value",
		"HTTPNODE_SECRET_BAD_HOSTS":    "ftp://x",
		"HTTPNODE_SECRET_SHORT":        "p",
		"HTTPNODE_SECRET_SHORT_HOSTS":  "api.example.com",
		"HTTPNODE_SECRET_CALLBACK_KEY": "worker-key-value",
	}
	n := &Nodes{Store: Store{LookupEnv: envOf(env)}, Keys: DefaultWorkerKeys()}
	api := mustURL(t, "https://api.example.com/v1")
	v, b, err := n.Resolve("TOKEN", api)
	require.NoError(t, err)
	require.Equal(t, "token-value-1", v)
	require.True(t, b.Allows(api))

	se := requireReason(t, func() error { _, _, err := n.Resolve("TOKEN", mustURL(t, "https://evil.example/")); return err }(), NotBound)
	require.Equal(t, "secret TOKEN is not bound to https://evil.example:443, so it is not sent there (if it may go there, add evil.example to HTTPNODE_SECRET_TOKEN_HOSTS)", se.Error())

	se = requireReason(t, func() error { _, _, err := n.Resolve("UNBOUND", mustURL(t, "http://127.0.0.1:8081/jobs")); return err }(), Unbound)
	require.Contains(t, se.Error(), "secret UNBOUND is not bound to any host")
	require.Contains(t, se.Error(), "set HTTPNODE_SECRET_UNBOUND_HOSTS=http://127.0.0.1:8081 on the worker", "the hint is the exact setting for this destination")

	requireReason(t, func() error { _, _, err := n.Resolve("BAD", api); return err }(), BadBinding)
	se = requireReason(t, func() error { _, _, err := n.Resolve("SHORT", api); return err }(), TooShort)
	require.Contains(t, se.Error(), "secret SHORT is 1 characters long")
	se = requireReason(t, func() error { _, _, err := n.Resolve("CALLBACK_KEY", api); return err }(), WorkerKey)
	require.Contains(t, se.Error(), "is the worker's callback URL key")
	requireReason(t, func() error { _, _, err := n.Resolve("MISSING", api); return err }(), NotSet)
	se = requireReason(t, func() error { _, _, err := n.Resolve("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", api); return err }(), BadName)
	require.NotContains(t, se.Error(), "MfKQ9r8G", "a value given as a name is not repeated")

	// nil destination: every rule but the destination
	_, _, err = n.Resolve("TOKEN", nil)
	require.NoError(t, err)
	for _, name := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "CALLBACK_KEY", "SHORT", "UNBOUND", "BAD", "MISSING"} {
		_, _, err := n.Resolve(name, nil)
		require.Error(t, err, name)
		_, _, err2 := n.Resolve(name, mustURL(t, "https://evil.example/"))
		for k, v := range env {
			if !strings.HasSuffix(k, "_HOSTS") && len(v) >= 8 {
				require.NotContains(t, err.Error()+err2.Error(), v, "no message holds a value")
			}
		}
	}
}

func TestNodes_DefaultBindsUnbound(t *testing.T) {
	env := map[string]string{"HTTPNODE_SECRET_DEMO": "demo-value", "HTTPNODE_SECRET_OWN": "own-value", "HTTPNODE_SECRET_OWN_HOSTS": "api.example.com"}
	n := &Nodes{Store: Store{LookupEnv: envOf(env)}, Default: Loopback}
	_, _, err := n.Resolve("DEMO", mustURL(t, "http://127.0.0.1:8081/jobs"))
	require.NoError(t, err)
	_, _, err = n.Resolve("DEMO", mustURL(t, "https://api.example.com/"))
	requireReason(t, err, NotBound)
	_, _, err = n.Resolve("OWN", mustURL(t, "http://127.0.0.1:8081/jobs"))
	requireReason(t, err, NotBound) // a binding of its own wins over the default
}

func TestNodes_BindingFromDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "TOKEN"), []byte("token-from-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "TOKEN.hosts"), []byte("# partner API\napi.example.com\n*.partner.example\n"), 0o600))
	n := &Nodes{Store: Store{Dir: dir, LookupEnv: envOf(nil)}}
	v, _, err := n.Resolve("TOKEN", mustURL(t, "https://eu.partner.example/x"))
	require.NoError(t, err)
	require.Equal(t, "token-from-file", v)
	_, _, err = n.Resolve("TOKEN", mustURL(t, "https://evil.example/x"))
	requireReason(t, err, NotBound)
	require.Empty(t, n.Unbound(nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "OTHER"), []byte("other-value"), 0o600))
	require.Equal(t, []string{"OTHER"}, n.Unbound([]string{"HTTPNODE_SECRET_TOKEN_HOSTS=x", "PATH=/bin"}))
}

func TestNames_RefusesValuesUnrepeated(t *testing.T) {
	names, err := Names("--callback-signing-secrets", " HOOK_A, HOOK_B ,")
	require.NoError(t, err)
	require.Equal(t, []string{"HOOK_A", "HOOK_B"}, names)
	for _, v := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "dGhpcyBpcyBhIHNlY3JldA==", "s3cr3t+value/with=", "0123456789abcdefABCDEF0123456789abcdefABCDEF"} {
		_, err := Names("--callback-signing-secrets", "HOOK_A,"+v)
		require.ErrorContains(t, err, "--callback-signing-secrets: entry 2:", v)
		require.NotContains(t, err.Error(), v)
	}
}
