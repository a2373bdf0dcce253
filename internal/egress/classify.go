package egress

import "net/netip"

// Rule names: the values of Classify and of DeniedError.Rule. They are API
// (ops match on them in logs and alerts): never rename one.
const (
	RuleLoopback       = "loopback"
	RulePrivate        = "private"
	RuleUniqueLocal    = "unique-local"
	RuleLinkLocal      = "link-local"
	RuleCGNAT          = "cgnat"
	RuleUnspecified    = "unspecified"
	RuleMulticast      = "multicast"
	RuleBroadcast      = "broadcast"
	RuleReserved       = "reserved"
	RuleDocumentation  = "documentation"
	RuleBenchmarking   = "benchmarking"
	RuleMetadata       = "metadata"
	RuleNAT64          = "nat64"
	RuleTeredo         = "teredo"
	RuleIPv4Compatible = "ipv4-compatible"
	RulePort           = "port"
	RuleScheme         = "scheme"
)

type rangeRule struct {
	prefix netip.Prefix
	rule   string
}

func rules(pairs ...string) []rangeRule {
	out := make([]rangeRule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, rangeRule{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// metadataAddrs are the cloud instance-metadata endpoints (AWS IPv4 and
// IPv6, GCP and Azure share the first; Alibaba; Oracle). They are checked
// before the ranges that contain them.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("192.0.0.192"),
}

var v4Rules = rules(
	"0.0.0.0/8", RuleUnspecified,
	"10.0.0.0/8", RulePrivate,
	"100.64.0.0/10", RuleCGNAT,
	"127.0.0.0/8", RuleLoopback,
	"169.254.0.0/16", RuleLinkLocal,
	"172.16.0.0/12", RulePrivate,
	"192.0.0.0/24", RuleReserved,
	"192.0.2.0/24", RuleDocumentation,
	"192.88.99.0/24", RuleReserved, // deprecated 6to4 relay anycast
	"192.168.0.0/16", RulePrivate,
	"198.18.0.0/15", RuleBenchmarking,
	"198.51.100.0/24", RuleDocumentation,
	"203.0.113.0/24", RuleDocumentation,
	"224.0.0.0/4", RuleMulticast,
	"255.255.255.255/32", RuleBroadcast, // before 240.0.0.0/4, which holds it
	"240.0.0.0/4", RuleReserved,
)

// v6Rules are the IPv6 ranges that embed no IPv4 address; anything else
// outside 2000::/3 (the only global unicast space) is reserved too.
var v6Rules = rules(
	"100::/64", RuleReserved, // discard-only
	"2001:2::/48", RuleBenchmarking,
	"2001::/23", RuleReserved, // IETF protocol assignments; Teredo is handled before
	"2001:db8::/32", RuleDocumentation,
	"3fff::/20", RuleDocumentation,
	"5f00::/16", RuleReserved, // SRv6 SIDs
	"fc00::/7", RuleUniqueLocal,
	"fe80::/10", RuleLinkLocal,
	"fec0::/10", RuleReserved, // deprecated site-local
	"ff00::/8", RuleMulticast,
)

var (
	globalUnicast  = netip.MustParsePrefix("2000::/3")
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	ipv4Compatible = netip.MustParsePrefix("::/96")
)

// verdict is what classify found: the rule ("" = public), the IPv4 address
// embedded in an IPv6 one when it decided the rule, and the special-purpose
// range that matched.
type verdict struct {
	rule     string
	embedded netip.Addr
	within   netip.Prefix
}

// Classify returns the deny rule an address falls under, or "" for an
// ordinary public address. It is pure: allow lists play no part. Zones are
// ignored; an IPv6 address that embeds an IPv4 one (mapped, IPv4-compatible,
// NAT64, 6to4, Teredo) takes the embedded address's rule when that is denied;
// otherwise mapped, well-known NAT64 and 6to4 addresses are public and
// Teredo, IPv4-compatible and local-use NAT64 (64:ff9b:1::/48, whose layout
// is operator-defined) are denied as "teredo", "ipv4-compatible" and "nat64".
// The invalid zero Addr is "unspecified".
func Classify(ip netip.Addr) string {
	return classify(ip).rule
}

func classify(ip netip.Addr) verdict {
	if !ip.IsValid() {
		return verdict{rule: RuleUnspecified}
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		v4 := ip.Unmap()
		v := classify4(v4)
		if v.rule != "" {
			v.embedded = v4
		}
		return v
	}
	if ip.Is4() {
		return classify4(ip)
	}
	return classify6(ip)
}

func classify4(ip netip.Addr) verdict {
	for _, m := range metadataAddrs {
		if ip == m {
			return verdict{rule: RuleMetadata, within: netip.PrefixFrom(ip, 32)}
		}
	}
	for _, r := range v4Rules {
		if r.prefix.Contains(ip) {
			return verdict{rule: r.rule, within: r.prefix}
		}
	}
	return verdict{}
}

func classify6(ip netip.Addr) verdict {
	exact := netip.PrefixFrom(ip, 128)
	for _, m := range metadataAddrs {
		if ip == m {
			return verdict{rule: RuleMetadata, within: exact}
		}
	}
	switch ip {
	case netip.IPv6Unspecified():
		return verdict{rule: RuleUnspecified, within: exact}
	case netip.IPv6Loopback():
		return verdict{rule: RuleLoopback, within: exact}
	}
	if v4, otherwise, ok := embeddedIPv4(ip); ok {
		if v := classify4(v4); v.rule != "" {
			return verdict{rule: v.rule, embedded: v4, within: exact}
		}
		if otherwise == "" {
			return verdict{}
		}
		return verdict{rule: otherwise, within: exact}
	}
	for _, r := range v6Rules {
		if r.prefix.Contains(ip) {
			return verdict{rule: r.rule, within: r.prefix}
		}
	}
	if !globalUnicast.Contains(ip) {
		return verdict{rule: RuleReserved, within: exact}
	}
	return verdict{}
}

// embeddedIPv4 extracts the IPv4 address an IPv6 transition form carries and
// the rule that applies when that IPv4 address is public ("" = allowed).
func embeddedIPv4(ip netip.Addr) (v4 netip.Addr, otherwise string, ok bool) {
	b := ip.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case nat64WellKnown.Contains(ip):
		return last, "", true
	case nat64Local.Contains(ip):
		return last, RuleNAT64, true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "", true
	case teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), RuleTeredo, true
	case ipv4Compatible.Contains(ip): // :: and ::1 are handled before
		return last, RuleIPv4Compatible, true
	}
	return netip.Addr{}, "", false
}
