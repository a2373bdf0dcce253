package egress

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// startServer starts an httptest server on a sentinel listener; the handler
// answers "ok", or redirects when the request has ?to=URL.
func startServer(t *testing.T) (*httptest.Server, *sentinel) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	s := &sentinel{Listener: srv.Listener, accepted: make(chan string, 64)}
	srv.Listener = s
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, s
}

func client(t *testing.T, p *Policy, log *dialLog) *http.Client {
	tr := &http.Transport{DialContext: p.DialContext(log.dialer())}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestHTTPClient_DeniedMakesNoConnection(t *testing.T) {
	srv, s := startServer(t)
	var log dialLog
	c := client(t, &Policy{Resolver: loopbackResolver()}, &log)
	port := s.port()
	for _, u := range []string{
		srv.URL + "/",
		fmt.Sprintf("http://2130706433:%d/", port),
		fmt.Sprintf("http://127.1:%d/", port),
		fmt.Sprintf("http://0x7f.0.0.1:%d/", port),
		fmt.Sprintf("http://[::ffff:7f00:1]:%d/", port),
		fmt.Sprintf("http://localhost.:%d/", port),
		fmt.Sprintf("http://１２７.０.０.１:%d/", port),
	} {
		t.Run(u, func(t *testing.T) {
			resp, err := c.Get(u)
			if resp != nil {
				_ = resp.Body.Close()
			}
			require.Nil(t, resp)
			var denied *DeniedError
			require.True(t, errors.As(err, &denied), "errors.As must find *DeniedError in %T: %v", err, err)
			require.Equal(t, RuleLoopback, denied.Rule)
			require.Empty(t, log.attempts())
			require.Zero(t, s.connections(t))
		})
	}
}

func TestHTTPClient_AllowedMakesOneConnection(t *testing.T) {
	srv, s := startServer(t)
	var log dialLog
	c := client(t, &Policy{AllowCIDRs: prefixes("127.0.0.0/8")}, &log)
	for _, u := range []string{srv.URL + "/", fmt.Sprintf("http://2130706433:%d/", s.port())} {
		resp, err := c.Get(u)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, "ok", string(body))
		require.Equal(t, 1, s.connections(t), u)
	}
}

func TestHTTPClient_RedirectIsChecked(t *testing.T) {
	first, s1 := startServer(t)
	_, s2 := startServer(t)
	var log dialLog
	c := client(t, &Policy{AllowCIDRs: prefixes("127.0.0.0/8"), Ports: []int{s1.port()}}, &log)
	resp, err := c.Get(fmt.Sprintf("%s/?to=http://127.0.0.1:%d/", first.URL, s2.port()))
	if resp != nil {
		_ = resp.Body.Close()
	}
	requireRule(t, RulePort, err)
	require.Equal(t, 1, s1.connections(t))
	require.Zero(t, s2.connections(t))
}
