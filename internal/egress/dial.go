package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// DialContext returns the dial function for http.Transport.DialContext. For
// each dial it splits addr into host and port, checks the port, parses the
// host when it is an IP literal in any form (never resolving it) or else
// resolves it once with p.Resolver, and checks every address: if any address
// of the answer is denied, the whole dial is denied, so a mixed or rebound
// answer cannot fall back to its internal address. It then dials the
// addresses one after another, in the resolver's order, until one connects;
// if none does, the error is the first denial, else the first error.
//
// Each attempt uses a copy of d (taken when DialContext is called; nil means
// the zero Dialer; d.Timeout applies to each address) whose Control hook
// checks the address actually being dialed before connecting, then runs d's
// own ControlContext or Control. A denied destination returns a *DeniedError
// and makes no connection. network must be tcp, tcp4, tcp6, udp, udp4 or
// udp6; the "4" and "6" forms use only addresses of that family.
//
// When a transport uses a forward proxy it dials the proxy through this
// function, so the proxy's address must be allowed (see CheckHost).
func (p *Policy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if p == nil {
		p = &Policy{}
	}
	if d == nil {
		d = &net.Dialer{}
	}
	base := *d
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		family, err := ipNetwork(network)
		if err != nil {
			return nil, err
		}
		host, portText, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("egress: dial address %q: %v (want host:port)", addr, err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return nil, fmt.Errorf("egress: dial address %q: port %q is not a number", addr, portText)
		}
		ips, err := p.dialAddrs(ctx, family, host, port)
		if err != nil {
			return nil, err
		}
		dialer := base
		dialer.ControlContext = p.control(host, base.ControlContext, base.Control)
		dialer.Control = nil
		var first error
		for _, ip := range ips {
			conn, err := dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
			if err == nil {
				return conn, nil
			}
			if first == nil || errors.As(err, new(*DeniedError)) && !errors.As(first, new(*DeniedError)) {
				first = err // a denial says more than a refused connection
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, first
	}
}

// dialAddrs returns the checked addresses to dial for host:port, or the
// denial of the first address that fails.
func (p *Policy) dialAddrs(ctx context.Context, family, host string, port int) ([]netip.Addr, error) {
	if !p.portAllowed(port) {
		return nil, p.denyPort(host, host, port)
	}
	var ips []netip.Addr
	if ip, ok := hostLiteral(host); ok {
		ips = []netip.Addr{ip}
	} else if host == "" { // the Go dialer would reach the local system
		ips = []netip.Addr{netip.IPv4Unspecified()}
	} else {
		var err error
		if ips, err = p.lookup(ctx, family, host); err != nil {
			return nil, err
		}
	}
	for _, ip := range ips {
		if err := p.CheckIP(host, ip, port); err != nil {
			return nil, err
		}
	}
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	switch family {
	case "ip4":
		ips = filter(ips, netip.Addr.Is4)
	case "ip6":
		ips = filter(ips, netip.Addr.Is6)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("egress: host %q has no %s address (network %s)", host, family, family)
	}
	return ips, nil
}

func filter(ips []netip.Addr, keep func(netip.Addr) bool) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if keep(ip) {
			out = append(out, ip)
		}
	}
	return out
}

func ipNetwork(network string) (string, error) {
	switch network {
	case "tcp", "udp":
		return "ip", nil
	case "tcp4", "udp4":
		return "ip4", nil
	case "tcp6", "udp6":
		return "ip6", nil
	}
	return "", fmt.Errorf("egress: network %q is not supported (use tcp, tcp4, tcp6, udp, udp4 or udp6)", network)
}

type controlFunc = func(ctx context.Context, network, address string, c syscall.RawConn) error

// control is the Control hook: the last check, on the exact address the
// socket is about to connect to, then the dialer's own hook.
func (p *Policy) control(host string, nextCtx controlFunc, next func(network, address string, c syscall.RawConn) error) controlFunc {
	return func(ctx context.Context, network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("egress: cannot check dialed address %q: %v", address, err)
		}
		if err := p.CheckIP(host, ap.Addr(), int(ap.Port())); err != nil {
			return err
		}
		switch {
		case nextCtx != nil:
			return nextCtx(ctx, network, address, c)
		case next != nil:
			return next(network, address, c)
		}
		return nil
	}
}
