package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/httpnode"
	"github.com/httpnode/httpnode/internal/egress"
	"github.com/httpnode/httpnode/internal/outbound"
	"github.com/httpnode/httpnode/internal/secrets"
)

// everyField puts the reference ref in each field of a request that takes
// secrets, one request per field.
func everyField(url, ref string) map[string]httpnode.Request {
	with := func(f func(*httpnode.Request)) httpnode.Request {
		r := request("POST", url)
		f(&r)
		return r
	}
	return map[string]httpnode.Request{
		"headers.X-A": with(func(r *httpnode.Request) { r.Headers = map[string]string{"X-A": "v " + ref} }),
		"query.q":     with(func(r *httpnode.Request) { r.Query = map[string]string{"q": ref} }),
		"auth.token":  with(func(r *httpnode.Request) { r.Auth = &httpnode.Auth{Type: "bearer", Token: ref} }),
		"auth.username": with(func(r *httpnode.Request) {
			r.Auth = &httpnode.Auth{Type: "basic", Username: ref, Password: "${secret.PASS}"}
		}),
		"auth.password":    with(func(r *httpnode.Request) { r.Auth = &httpnode.Auth{Type: "basic", Username: "svc", Password: ref} }),
		"auth.key":         with(func(r *httpnode.Request) { r.Auth = &httpnode.Auth{Type: "apiKey", Key: ref} }),
		"sign.secrets[0]":  with(func(r *httpnode.Request) { r.Sign = &httpnode.Sign{Secrets: []string{ref}} }),
		"tls.ca":           with(func(r *httpnode.Request) { r.TLS = &httpnode.TLS{CA: ref} }),
		"tls.cert":         with(func(r *httpnode.Request) { r.TLS = &httpnode.TLS{Cert: ref, Key: "${secret.KEY}"} }),
		"query.apiKey (q)": with(func(r *httpnode.Request) { r.Auth = &httpnode.Auth{Type: "apiKey", Key: ref, In: "query"} }),
	}
}

// The worker's own keys are refused by name in every field, even where a
// node secret of the same name is set and bound: nothing is sent, the
// error is InvalidNode and names the field, and no value shows anywhere.
func TestSendRequest_WorkerKeysAreRefusedInEveryField(t *testing.T) {
	const canary = "worker-key-canary-4f1d"
	target := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(ok))
	env := map[string]string{"HTTPNODE_SECRET_CODEC_KEY_1": canary, "HTTPNODE_SECRET_CODEC_KEY_1_HOSTS": loopback}
	for k, v := range testEnv {
		env[k] = v
	}
	n := envSecrets(env)
	n.Keys = secrets.WorkerKeys{"CODEC_KEY_1": "payload encryption key"}
	a := New(n, outbound.Config{Policy: egress.Loopback()})
	for field, r := range everyField(target.URL, "${secret.CODEC_KEY_1}") {
		t.Run(field, func(t *testing.T) {
			out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			app := requireAppError(t, err, httpnode.ErrInvalidNode, false)
			require.Contains(t, app.Message(), "request.")
			require.Contains(t, app.Message(), "secret CODEC_KEY_1 is the worker's payload encryption key")
			all, _ := json.Marshal(out)
			require.NotContains(t, app.Message()+string(all), canary)
		})
	}
	require.Zero(t, target.conns.Load(), "nothing reached the sentinel")
}

// A bound secret goes to its host and nowhere else: to another host it is
// refused before anything is sent, and a redirect to another host drops
// every header that holds it.
func TestSendRequest_SecretsGoOnlyWhereBound(t *testing.T) {
	var got http.Header
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		got = r.Header.Clone()
		ok(w, r)
	})
	a := newSentinel(t, "127.0.0.1:0", record)
	b := newSentinel(t, "127.0.0.2:0", record)
	env := map[string]string{"HTTPNODE_SECRET_TOKEN": "tok-123456", "HTTPNODE_SECRET_TOKEN_HOSTS": "http://127.0.0.1:*"}
	acts := New(envSecrets(env), outbound.Config{Policy: &egress.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	headers := map[string]string{"X-Custom-Auth": "t=${secret.TOKEN}", "X-Trace": "keep"}

	r := request("GET", a.URL+"/final")
	r.Headers = headers
	_, err := acts.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.Equal(t, "t=tok-123456", got.Get("X-Custom-Auth"), "bound: sent")

	r = request("GET", b.URL+"/final")
	r.Headers = headers
	_, err = acts.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrSecretNotBound, false)
	require.Contains(t, app.Message(), "request.headers.X-Custom-Auth: secret TOKEN is not bound to http://127.0.0.2:")
	require.Contains(t, app.Message(), "add http://127.0.0.2:")
	require.Zero(t, b.conns.Load(), "nothing was sent to the other host")

	for _, tc := range []struct {
		name, to string
		kept     bool
	}{{"a hop on the bound host keeps it", a.URL + "/final", true}, {"a hop to another host drops it", b.URL + "/final", false}} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			r := request("GET", a.URL+"/start?to="+tc.to)
			r.FollowRedirects, r.Headers = true, headers
			_, err := acts.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
			require.NoError(t, err)
			require.Equal(t, "keep", got.Get("X-Trace"))
			require.Equal(t, tc.kept, got.Get("X-Custom-Auth") != "")
		})
	}
}

// A signing secret is bound like any other: a signature made for another
// host could be replayed wherever the secret is trusted.
func TestSendRequest_SigningSecretsAreBound(t *testing.T) {
	target := newSentinel(t, "127.0.0.2:0", http.HandlerFunc(ok))
	p := &egress.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	r := request("POST", target.URL+"/hook")
	r.Sign = &httpnode.Sign{Secrets: []string{"${secret.HOOK}"}}
	_, err := New(testSecrets(), outbound.Config{Policy: p}).SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrSecretNotBound, false)
	require.Contains(t, app.Message(), "request.sign.secrets[0]: secret HOOK is not bound to http://127.0.0.2:")
	require.Zero(t, target.conns.Load())
}

// Secrets too short to mask are refused, so masking never turns ordinary
// text into stars; a secret of the minimum length echoed back is masked
// and the rest of the text stays as it was.
func TestSendRequest_ShortSecretsAndMasking(t *testing.T) {
	srv, got := recorder(t, 200, "")
	echo := newSentinel(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"you sent": %q, "note": "pass the password please"}`, r.Header.Get("Authorization"))
	}))
	env := map[string]string{
		"HTTPNODE_SECRET_ONE": "p", "HTTPNODE_SECRET_ONE_HOSTS": loopback,
		"HTTPNODE_SECRET_EIGHT": "password", "HTTPNODE_SECRET_EIGHT_HOSTS": loopback,
	}
	a := New(envSecrets(env), outbound.Config{Policy: egress.Loopback()})

	r := request("GET", srv.URL)
	r.Auth = &httpnode.Auth{Type: "basic", Username: "svc", Password: "${secret.ONE}"}
	_, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	app := requireAppError(t, err, httpnode.ErrInvalidSecret, false)
	require.Contains(t, app.Message(), "request.auth.password: secret ONE is 1 characters long; secrets shorter than 8 cannot be masked")
	require.Empty(t, got.method, "nothing was sent")

	r = request("GET", echo.URL)
	r.Auth = &httpnode.Auth{Type: "bearer", Token: "${secret.EIGHT}"}
	out, err := a.SendRequest(context.Background(), SendRequestInput{Request: ready(r)})
	require.NoError(t, err)
	require.JSONEq(t, `{"you sent": "***", "note": "pass the *** please"}`, out.Response.Body)
	require.Equal(t, "application/json", out.Response.Headers["Content-Type"], "ordinary text is not masked")
	require.True(t, strings.HasPrefix(out.Sent.URL, "http://"), out.Sent.URL)
}

// Before the main request goes out, every secret of the node is checked
// for the destination of the request it is in: a notify secret that may
// not go to the notify host stops the node before anything is sent.
func TestSendRequest_ChecksEverySecretOfTheNodeFirst(t *testing.T) {
	srv, got := recorder(t, 200, `{"taskId": "t1"}`)
	rd := httpnode.Rendered{
		Request: request("POST", srv.URL+"/jobs"),
		Notify:  &httpnode.Request{URL: "https://hooks.example.com/done", Headers: map[string]string{"X-Hook": "${secret.TOKEN}"}},
		Cancel:  &httpnode.Request{URL: srv.URL + "/jobs/${taskId}", Auth: &httpnode.Auth{Type: "bearer", Token: "${secret.MISSING}"}},
	}
	uses := rd.SecretUses()
	require.Equal(t, []httpnode.SecretUse{
		{Field: "notify.headers.X-Hook", Name: "TOKEN", URL: "https://hooks.example.com/done"},
		{Field: "cancel.auth.token", Name: "MISSING", URL: srv.URL + "/jobs/x"},
	}, uses)
	_, err := newActivities().SendRequest(context.Background(), SendRequestInput{Request: ready(rd.Request), Secrets: uses})
	app := requireAppError(t, err, httpnode.ErrSecretNotBound, false)
	require.Contains(t, app.Message(), "notify.headers.X-Hook: secret TOKEN is not bound to https://hooks.example.com:443")
	require.Contains(t, app.Message(), "cancel.auth.token: secret MISSING is not set")
	require.Empty(t, got.method, "the main request was not sent")
}
