package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// loopbackResolver resolves the localhost names the way /etc/hosts does,
// without touching the system resolver.
func loopbackResolver() *staticResolver {
	return newResolver(map[string][][]netip.Addr{
		"localhost":  {addrs("127.0.0.1")},
		"localhost.": {addrs("127.0.0.1")},
		"LocalHost.": {addrs("127.0.0.1")},
	})
}

func TestDialContext_DeniedMakesNoConnection(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	p := &Policy{Resolver: loopbackResolver()}
	for _, host := range []string{
		"127.0.0.1", "2130706433", "0x7f000001", "017700000001", "0177.0.0.1", "0x7f.0.0.1",
		"127.1", "127.0.1", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
		"localhost", "localhost.", "LocalHost.",
	} {
		t.Run(host, func(t *testing.T) {
			var log dialLog
			conn, err := p.DialContext(log.dialer())(context.Background(), "tcp", fmt.Sprintf("%s:%d", host, s.port()))
			require.Nil(t, conn)
			requireRule(t, RuleLoopback, err)
			require.Empty(t, log.attempts(), "a denied destination must not be dialed")
			require.Zero(t, s.connections(t))
		})
	}
}

func TestDialContext_AllowedMakesOneConnection(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	p := &Policy{AllowCIDRs: prefixes("127.0.0.0/8"), Resolver: loopbackResolver()}
	for _, host := range []string{"127.0.0.1", "2130706433", "127.1", "localhost."} {
		t.Run(host, func(t *testing.T) {
			var log dialLog
			conn, err := p.DialContext(log.dialer())(context.Background(), "tcp", fmt.Sprintf("%s:%d", host, s.port()))
			require.NoError(t, err)
			require.NoError(t, conn.Close())
			require.Equal(t, []string{fmt.Sprintf("127.0.0.1:%d", s.port())}, log.attempts(), "the dialer's own Control hook still runs")
			require.Equal(t, 1, s.connections(t))
		})
	}
}

func TestDialContext_PortRule(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	p := &Policy{AllowCIDRs: prefixes("127.0.0.0/8"), Ports: []int{443}}
	var log dialLog
	_, err := p.DialContext(log.dialer())(context.Background(), "tcp", s.Addr().String())
	requireRule(t, RulePort, err)
	require.Empty(t, log.attempts())
	require.Zero(t, s.connections(t))
}

func TestDialContext_IPv6Loopback(t *testing.T) {
	s := listenSentinel(t, "[::1]:0", true)
	s.serve()
	addr := fmt.Sprintf("[::1]:%d", s.port())

	var log dialLog
	_, err := (&Policy{}).DialContext(log.dialer())(context.Background(), "tcp", addr)
	requireRule(t, RuleLoopback, err)
	require.Empty(t, log.attempts())
	require.Zero(t, s.connections(t))

	conn, err := (&Policy{AllowCIDRs: prefixes("::1/128")}).DialContext(log.dialer())(context.Background(), "tcp", addr)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.Equal(t, 1, s.connections(t))
}

func TestDialContext_Rebinding(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	ctx := context.Background()
	res := newResolver(map[string][][]netip.Addr{
		"rebind.example":  {addrs("8.8.8.8"), addrs("127.0.0.1")},
		"mixed.example":   {addrs("8.8.8.8", "127.0.0.1")},
		"mixed6.example":  {addrs("2606:4700::1111", "::ffff:127.0.0.1")},
		"private.example": {addrs("127.0.0.1", "10.0.0.1")},
	})

	t.Run("second answer is loopback", func(t *testing.T) {
		p := &Policy{Resolver: res}
		require.NoError(t, p.CheckHost(ctx, "rebind.example", s.port()), "the first answer looks public")
		var log dialLog
		_, err := p.DialContext(log.dialer())(ctx, "tcp", fmt.Sprintf("rebind.example:%d", s.port()))
		requireRule(t, RuleLoopback, err)
		require.Empty(t, log.attempts())
		require.Zero(t, s.connections(t))
		require.Equal(t, 2, res.callsTo("rebind.example"), "the dial resolves again and checks that answer")
	})
	for _, tc := range []struct {
		host  string
		allow []netip.Prefix
		rule  string
	}{
		{"mixed.example", nil, RuleLoopback},
		{"mixed6.example", nil, RuleLoopback},
		// One denied address denies the whole answer, even when another is allowed.
		{"private.example", prefixes("127.0.0.0/8"), RulePrivate},
	} {
		t.Run(tc.host, func(t *testing.T) {
			var log dialLog
			p := &Policy{AllowCIDRs: tc.allow, Resolver: res}
			_, err := p.DialContext(log.dialer())(ctx, "tcp", fmt.Sprintf("%s:%d", tc.host, s.port()))
			requireRule(t, tc.rule, err)
			require.Empty(t, log.attempts(), "no address of a denied answer is dialed")
			require.Zero(t, s.connections(t))
		})
	}
}

func TestDialContext_TriesAddressesInOrder(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	p := &Policy{
		AllowCIDRs: prefixes("127.0.0.0/8"),
		Resolver:   newResolver(map[string][][]netip.Addr{"two.example": {addrs("127.0.0.2", "127.0.0.1")}}),
	}
	var log dialLog
	conn, err := p.DialContext(log.dialer())(context.Background(), "tcp", fmt.Sprintf("two.example:%d", s.port()))
	require.NoError(t, err, "127.0.0.2 refuses (nothing listens there), 127.0.0.1 connects")
	require.NoError(t, conn.Close())
	require.Equal(t, []string{fmt.Sprintf("127.0.0.2:%d", s.port()), fmt.Sprintf("127.0.0.1:%d", s.port())}, log.attempts())
	require.Equal(t, 1, s.connections(t))
}

func TestDialContext_ControlChecksEachDialedAddress(t *testing.T) {
	s := listenSentinel(t, "127.0.0.1:0", false)
	s.serve()
	p := &Policy{
		AllowCIDRs: prefixes("127.0.0.0/8"),
		Resolver:   newResolver(map[string][][]netip.Addr{"two.example": {addrs("127.0.0.2", "127.0.0.1")}}),
	}
	var attempts []string
	d := &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		attempts = append(attempts, address)
		// Narrow the policy after the first attempt passed the pre-check:
		// only the Control hook can now stop the dial of 127.0.0.1.
		p.AllowCIDRs = prefixes("127.0.0.2/32")
		return nil
	}}
	_, err := p.DialContext(d)(context.Background(), "tcp", fmt.Sprintf("two.example:%d", s.port()))
	requireRule(t, RuleLoopback, err)
	require.Equal(t, []string{fmt.Sprintf("127.0.0.2:%d", s.port())}, attempts, "the hook runs before the dialer's own Control")
	require.Zero(t, s.connections(t))
}

func TestDialContext_BadInput(t *testing.T) {
	dial := (&Policy{}).DialContext(nil)
	for _, tc := range []struct{ network, addr, want string }{
		{"unix", "/tmp/x.sock", `egress: network "unix" is not supported (use tcp, tcp4, tcp6, udp, udp4 or udp6)`},
		{"tcp", "no-port", `egress: dial address "no-port": address no-port: missing port in address (want host:port)`},
		{"tcp", "example.com:http", `egress: dial address "example.com:http": port "http" is not a number`},
	} {
		_, err := dial(context.Background(), tc.network, tc.addr)
		require.EqualError(t, err, tc.want)
	}
	_, err := dial(context.Background(), "tcp", ":80")
	requireRule(t, RuleUnspecified, err)
	_, err = dial(context.Background(), "tcp6", "8.8.8.8:80")
	require.EqualError(t, err, `egress: host "8.8.8.8" has no ip6 address (network ip6)`)
}

func TestControl_ChecksDialedAddress(t *testing.T) {
	var next []string
	hook := func(_, address string, _ syscall.RawConn) error {
		next = append(next, address)
		return nil
	}
	control := (&Policy{Ports: []int{443}}).control("api.example.com", nil, hook)
	ctx := context.Background()
	requireRule(t, RuleLoopback, control(ctx, "tcp4", "127.0.0.1:443", nil))
	requireRule(t, RuleMetadata, control(ctx, "tcp6", "[fd00:ec2::254]:443", nil))
	requireRule(t, RulePort, control(ctx, "tcp4", "8.8.8.8:80", nil))
	require.Empty(t, next, "the dialer's hook runs only for allowed addresses")
	require.NoError(t, control(ctx, "tcp4", "8.8.8.8:443", nil))
	require.Equal(t, []string{"8.8.8.8:443"}, next)
	require.Error(t, control(ctx, "tcp4", "not-an-address", nil))
}
