package egress

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DeniedError is the error of every denial. errors.As finds it through the
// *url.Error and *net.OpError an http.Client wraps around a dial error.
type DeniedError struct {
	// Rule is the stable rule name, one of the Rule constants.
	Rule string
	// Host is the host as the request named it; it may be an IP literal,
	// disguised or not, or "".
	Host string
	// Addr is the destination denied: "ip:port" when an address was
	// checked, "host:port" for a port denied before resolving, and the
	// URL's host for "scheme".
	Addr string
	// Embedded is the IPv4 address carried by an IPv6 (or IPv4-mapped)
	// address when it decided the rule, "" otherwise.
	Embedded string
	// Scheme is the denied scheme (rule "scheme").
	Scheme string
	// Allowed lists the allowed ports or schemes (rules "port", "scheme").
	Allowed []string

	allow string // the --egress-allow value that would allow an address
}

// Error says what was denied, by which rule, and which worker flag allows it.
func (e *DeniedError) Error() string {
	var b strings.Builder
	b.WriteString("destination denied: ")
	if e.Addr == "" {
		b.WriteString("(no host)")
	}
	b.WriteString(e.Addr)
	if e.Host != "" && e.Host != e.Addr && !sameAddr(e.Host, e.Addr) {
		fmt.Fprintf(&b, " (host %q)", e.Host)
	}
	switch e.Rule {
	case RuleScheme:
		if e.Scheme == "" {
			fmt.Fprintf(&b, " has no scheme (rule %q); use one of %s", e.Rule, strings.Join(e.Allowed, ","))
			break
		}
		fmt.Fprintf(&b, " uses scheme %q, which is not allowed (rule %q); allowed: %s; to allow it, start the worker with --egress-schemes %s",
			e.Scheme, e.Rule, strings.Join(e.Allowed, ","), strings.Join(append(slices.Clone(e.Allowed), e.Scheme), ","))
	case RulePort:
		_, port, _ := net.SplitHostPort(e.Addr)
		fmt.Fprintf(&b, " uses port %s, which is not allowed (rule %q); ", port, e.Rule)
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			b.WriteString("ports are 1-65535")
			break
		}
		fmt.Fprintf(&b, "allowed: %s; to allow it, start the worker with --egress-ports %s,%s",
			strings.Join(e.Allowed, ","), strings.Join(e.Allowed, ","), port)
	case RuleMetadata:
		b.WriteString(" is a cloud metadata address")
		e.writeEmbedded(&b)
		fmt.Fprintf(&b, " (rule %q); ranges never allow metadata addresses: to allow it, name it exactly with --egress-allow %s", e.Rule, e.allow)
	default:
		b.WriteString(" is ")
		b.WriteString(describe[e.Rule])
		e.writeEmbedded(&b)
		fmt.Fprintf(&b, " (rule %q); to allow it, start the worker with --egress-allow %s", e.Rule, e.allow)
		if name := normName(e.Host); name != "" {
			if _, literal := hostLiteral(name); !literal {
				fmt.Fprintf(&b, " (or --egress-allow %s to trust that host name)", name)
			}
		}
	}
	return b.String()
}

func (e *DeniedError) writeEmbedded(b *strings.Builder) {
	if e.Embedded != "" {
		fmt.Fprintf(b, " via its embedded IPv4 %s", e.Embedded)
	}
}

var describe = map[string]string{
	RuleLoopback:       "loopback",
	RulePrivate:        "a private address",
	RuleUniqueLocal:    "a unique-local address",
	RuleLinkLocal:      "link-local",
	RuleCGNAT:          "in the carrier-grade NAT range",
	RuleUnspecified:    "unspecified (this host)",
	RuleMulticast:      "multicast",
	RuleBroadcast:      "the broadcast address",
	RuleReserved:       "reserved",
	RuleDocumentation:  "reserved for documentation",
	RuleBenchmarking:   "reserved for benchmarking",
	RuleNAT64:          "a local-use NAT64 address, whose target cannot be verified",
	RuleTeredo:         "a Teredo tunnel address",
	RuleIPv4Compatible: "a deprecated IPv4-compatible address",
}

// sameAddr reports whether host is just the address part of addr, so the
// message need not repeat it.
func sameAddr(host, addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == h {
		return true
	}
	a, err1 := netip.ParseAddr(strings.Trim(host, "[]"))
	b, err2 := netip.ParseAddr(h)
	return err1 == nil && err2 == nil && a == b
}

func denyAddr(host string, ip netip.Addr, port int, v verdict) *DeniedError {
	e := &DeniedError{
		Rule: v.rule,
		Host: host,
		Addr: net.JoinHostPort(ip.String(), strconv.Itoa(port)),
	}
	if v.embedded.IsValid() {
		e.Embedded = v.embedded.String()
	}
	// Loopback ranges are small and whole; everything else is opened one
	// address at a time (least privilege). Allow lists match the unmapped IP.
	exact := ip.Unmap().WithZone("")
	e.allow = netip.PrefixFrom(exact, exact.BitLen()).String()
	if v.rule == RuleLoopback && v.within.IsValid() && v.within.Contains(exact) {
		e.allow = v.within.String()
	}
	return e
}

func (p *Policy) denyPort(host, addrHost string, port int) *DeniedError {
	allowed := make([]string, 0, len(p.Ports))
	for _, n := range p.Ports {
		allowed = append(allowed, strconv.Itoa(n))
	}
	if len(allowed) == 0 {
		allowed = []string{"1-65535"}
	}
	return &DeniedError{Rule: RulePort, Host: host, Addr: net.JoinHostPort(addrHost, strconv.Itoa(port)), Allowed: allowed}
}

func (p *Policy) denyScheme(host, scheme string) *DeniedError {
	return &DeniedError{Rule: RuleScheme, Host: host, Addr: host, Scheme: scheme, Allowed: slices.Clone(p.schemes())}
}
