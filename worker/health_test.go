package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/httpnode/httpnode/internal/devserver"
)

// switchable forwards connections on addr to target while on; off closes
// the listener and every connection, as a server gone away would.
type switchable struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        []net.Conn
}

func (s *switchable) on(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", s.addr)
	require.NoError(t, err)
	s.mu.Lock()
	s.l, s.addr = l, l.Addr().String()
	s.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", s.target)
			if err != nil {
				c.Close()
				continue
			}
			s.mu.Lock()
			s.conns = append(s.conns, c, u)
			s.mu.Unlock()
			go func() { _, _ = io.Copy(u, c) }()
			go func() { _, _ = io.Copy(c, u) }()
		}
	}()
}

func (s *switchable) off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l.Close()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// Readiness follows the connection to the Temporal server, after a grace
// period; liveness stays as it is.
func TestWorker_ReadinessFollowsTheServer(t *testing.T) {
	srv, err := devserver.Start(devserver.Config{Port: freePort(t), Logger: zerolog.Nop()})
	require.NoError(t, err)
	defer srv.Stop()
	proxy := &switchable{addr: "127.0.0.1:0", target: srv.Address}
	proxy.on(t)
	healthPort := strconv.Itoa(freePort(t))
	p := startProcess(t, "--address", proxy.addr, "--health-addr", "127.0.0.1:"+healthPort, "--readiness-grace", "2s", "--log-level", "error")
	defer p.shutdown(t)
	get := func(path string) int {
		resp, err := http.Get("http://127.0.0.1:" + healthPort + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("/readyz"))

	proxy.off()
	require.Eventually(t, func() bool { return get("/readyz") == http.StatusServiceUnavailable }, 30*time.Second, 100*time.Millisecond, "not ready once the server is gone past the grace period")
	require.Equal(t, http.StatusOK, get("/healthz"), "alive all the same")

	proxy.on(t)
	require.Eventually(t, func() bool { return get("/readyz") == http.StatusOK }, 30*time.Second, 100*time.Millisecond, "ready again once it answers")
}
