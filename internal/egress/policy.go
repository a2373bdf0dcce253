package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Policy decides which destinations outbound requests may reach. The zero
// Policy denies every internal or special-purpose address (see Classify) and
// allows public ones on any port over http and https. A nil *Policy behaves
// like the zero Policy. A Policy must not be changed while it is in use.
type Policy struct {
	// AllowCIDRs are destinations allowed although internal, matched against
	// the address dialed (an IPv4-mapped address is matched as its IPv4). A
	// cloud metadata address is allowed only by a prefix naming exactly it
	// (/32 or /128), never by a wider range.
	AllowCIDRs []netip.Prefix
	// AllowHosts are host names allowed whatever they resolve to, except
	// metadata addresses: "jobservice" matches that name, "*.corp.example"
	// any subdomain of corp.example (not corp.example itself). Matching is
	// case-insensitive and ignores a trailing dot. An IP literal here behaves
	// like its /32 or /128 in AllowCIDRs.
	AllowHosts []string
	// Ports are the allowed destination ports; empty allows any port.
	Ports []int
	// Schemes are the allowed URL schemes, lower case; empty allows http and
	// https.
	Schemes []string
	// Resolver resolves host names at dial time and in CheckHost; nil means
	// net.DefaultResolver.
	Resolver Resolver
}

// Resolver resolves a host name to addresses; *net.Resolver satisfies it.
// network is "ip", "ip4" or "ip6".
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var defaultSchemes = []string{"http", "https"}

func (p *Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

func (p *Policy) schemes() []string {
	if len(p.Schemes) == 0 {
		return defaultSchemes
	}
	return p.Schemes
}

// CheckIP decides whether ip:port may be dialed for host, the name the
// request used ("" or the IP itself when it named an address). It returns nil
// or a *DeniedError: rule "port" for a port outside 1-65535 or outside Ports,
// otherwise the address's Classify rule unless AllowCIDRs or AllowHosts
// allows it.
func (p *Policy) CheckIP(host string, ip netip.Addr, port int) error {
	if p == nil {
		p = &Policy{}
	}
	if !p.portAllowed(port) {
		return p.denyPort(host, ip.String(), port)
	}
	v := classify(ip)
	if v.rule == "" || p.allows(host, ip, v.rule) {
		return nil
	}
	return denyAddr(host, ip, port, v)
}

func (p *Policy) portAllowed(port int) bool {
	return port >= 1 && port <= 65535 && (len(p.Ports) == 0 || slices.Contains(p.Ports, port))
}

func (p *Policy) allows(host string, ip netip.Addr, rule string) bool {
	ip = ip.Unmap().WithZone("")
	for _, pre := range p.AllowCIDRs {
		pre = normPrefix(pre)
		if rule == RuleMetadata {
			if pre.IsSingleIP() && pre.Addr() == ip {
				return true
			}
		} else if pre.Contains(ip) {
			return true
		}
	}
	for _, h := range p.AllowHosts {
		if a, ok := hostLiteral(h); ok {
			if a.Unmap().WithZone("") == ip {
				return true
			}
		} else if rule != RuleMetadata && hostMatches(h, host) {
			return true
		}
	}
	return false
}

// normPrefix turns an IPv4-mapped prefix into its IPv4 prefix, so that
// ::ffff:127.0.0.0/104 matches 127.0.0.1; invalid prefixes match nothing.
func normPrefix(pre netip.Prefix) netip.Prefix {
	if pre.Addr().Is4In6() && pre.Bits() >= 96 {
		return netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96).Masked()
	}
	return pre.Masked()
}

// hostMatches reports whether the host name host matches an AllowHosts
// pattern. IP literals never match a name pattern.
func hostMatches(pattern, host string) bool {
	host = normName(host)
	if host == "" {
		return false
	}
	if _, ok := hostLiteral(host); ok {
		return false
	}
	pattern = normName(pattern)
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return suffix != "" && strings.HasSuffix(host, "."+suffix)
	}
	return host == pattern
}

func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(foldHost(s)), ".")
}

// CheckURL is the check before sending: the scheme must be allowed; the port
// (explicit, or 80/443 for http/ws and https/wss; other schemes need an
// explicit one) must be allowed; and when the host is an IP literal in any
// form (disguised IPv4, bracketed IPv6 with zone, IPv4-mapped, fullwidth
// digits, trailing dot) its address is checked, an empty host counting as
// 0.0.0.0. Host names are left for dial time. It returns nil or a
// *DeniedError and never touches the network. Redirects need their own
// check (http.Client.CheckRedirect), or rely on DialContext.
func (p *Policy) CheckURL(u *url.URL) error {
	if p == nil {
		p = &Policy{}
	}
	if u == nil {
		return p.denyScheme("", "")
	}
	scheme := strings.ToLower(u.Scheme)
	host := u.Hostname()
	if !slices.Contains(p.schemes(), scheme) {
		return p.denyScheme(host, scheme)
	}
	port := defaultPort(scheme)
	if s := u.Port(); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = -1
		}
		port = n
	}
	ip, ok := hostLiteral(host)
	if host == "" {
		ip, ok = netip.IPv4Unspecified(), true
	}
	if !ok {
		if !p.portAllowed(port) {
			return p.denyPort(host, host, port)
		}
		return nil
	}
	return p.CheckIP(host, ip, port)
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// CheckHost resolves host (or parses it when it is an IP literal in any form)
// and checks port and every address; it is for requests that go through a
// proxy, where the worker never dials the target itself. It returns nil, a
// *DeniedError, or an error when the host cannot be resolved or is not ASCII
// (pass the punycode form, as the proxy will receive it). The proxy resolves
// again, so this check cannot stop DNS rebinding on its own.
func (p *Policy) CheckHost(ctx context.Context, host string, port int) error {
	if p == nil {
		p = &Policy{}
	}
	if !p.portAllowed(port) {
		return p.denyPort(host, host, port)
	}
	if ip, ok := hostLiteral(host); ok || host == "" {
		if host == "" {
			ip = netip.IPv4Unspecified()
		}
		return p.CheckIP(host, ip, port)
	}
	ips, err := p.lookup(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if err := p.CheckIP(host, ip, port); err != nil {
			return err
		}
	}
	return nil
}

// lookup resolves a host name that is not an IP literal and returns at least
// one address, IPv4-mapped answers unmapped.
func (p *Policy) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	name := foldHost(host)
	if !isASCII(name) {
		return nil, fmt.Errorf("egress: host %q is not ASCII; pass its punycode (IDNA) form, as the request will carry it", host)
	}
	ips, err := p.resolver().LookupNetIP(ctx, network, name)
	if err != nil {
		return nil, fmt.Errorf("egress: resolve %q: %w (the destination cannot be checked, so it is not dialed)", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("egress: resolve %q: no addresses (check the host name)", host)
	}
	out := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		out[i] = ip.Unmap()
	}
	return out, nil
}

// AllowsHost reports whether the host name is in AllowHosts (an IP literal
// never is: addresses are decided by CheckIP). A request through a proxy to
// such a host is sent without resolving the name on the worker, which may
// not be able to: the operator trusts the name, and the proxy resolves it.
func (p *Policy) AllowsHost(host string) bool {
	if p == nil {
		return false
	}
	for _, h := range p.AllowHosts {
		if hostMatches(h, host) {
			return true
		}
	}
	return false
}

// LoopbackCIDRs are the loopback ranges, as the --dev worker and tests allow
// them: 127.0.0.0/8 and ::1/128.
var LoopbackCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// AllowLoopback returns a copy of p that also allows the loopback ranges.
func (p *Policy) AllowLoopback() *Policy {
	out := Policy{}
	if p != nil {
		out = *p
	}
	out.AllowCIDRs = append(slices.Clip(out.AllowCIDRs), LoopbackCIDRs...)
	return &out
}

// Loopback returns a policy that allows the loopback ranges and denies every
// other internal address: the --dev worker's, whose demo runs on 127.0.0.1.
func Loopback() *Policy { return (*Policy)(nil).AllowLoopback() }
