package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// sentinel is a loopback listener that records every connection it accepts,
// so a test can prove how many connections a dial made without sleeping.
type sentinel struct {
	net.Listener
	accepted chan string // remote address of each accepted connection
}

// listenSentinel listens on addr ("127.0.0.1:0" or "[::1]:0"); when the
// machine cannot listen there it skips the test if optional, else fails.
func listenSentinel(t *testing.T, addr string, optional bool) *sentinel {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil && optional {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	require.NoError(t, err)
	s := &sentinel{Listener: ln, accepted: make(chan string, 64)}
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

// Accept records the connection; it lets an httptest.Server use the sentinel.
func (s *sentinel) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err == nil {
		s.accepted <- c.RemoteAddr().String()
	}
	return c, err
}

// serve accepts and closes connections until the listener is closed.
func (s *sentinel) serve() {
	go func() {
		for {
			c, err := s.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
}

func (s *sentinel) port() int { return s.Addr().(*net.TCPAddr).Port }

// connections returns how many connections were accepted since the last
// call. It dials a probe and counts what the listener accepted before it:
// the accept queue is in order, and a dial that connected has completed its
// handshake before the probe starts.
func (s *sentinel) connections(t *testing.T) int {
	t.Helper()
	probe, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer func() { _ = probe.Close() }()
	n := 0
	for addr := range s.accepted {
		if addr == probe.LocalAddr().String() {
			return n
		}
		n++
	}
	return n
}

// dialLog is a base Dialer whose Control hook records every address a dial
// attempts and refuses anything but loopback, so a test can never reach
// another network even if the policy were wrong.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
}

func (l *dialLog) dialer() *net.Dialer {
	return &net.Dialer{ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
		l.mu.Lock()
		l.addrs = append(l.addrs, address)
		l.mu.Unlock()
		if ap, err := netip.ParseAddrPort(address); err != nil || !ap.Addr().Unmap().IsLoopback() {
			return fmt.Errorf("test guard: refusing to dial %s", address)
		}
		return nil
	}}
}

func (l *dialLog) attempts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.addrs...)
}
