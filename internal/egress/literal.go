package egress

import (
	"net/netip"
	"strings"
)

// hostLiteral reports the address a URL or dial host names when it is an IP
// literal in any form a downstream parser might accept: bracketed or bare
// IPv6 with or without a zone, standard dotted IPv4, and the inet_aton forms
// parseLooseIPv4 reads, after folding fullwidth characters and dropping one
// trailing dot. Such hosts must never reach a resolver: some resolvers
// (getaddrinfo) would turn them into the address anyway.
func hostLiteral(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(foldHost(host), ".")
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = strings.TrimSuffix(h[1:len(h)-1], ".")
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip, true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 { // an IPv4 address with a zone
		h = h[:i]
	}
	return parseLooseIPv4(h)
}

// parseLooseIPv4 parses IPv4 the way inet_aton and the WHATWG URL standard
// do: one to four parts separated by dots, each decimal, octal (leading 0) or
// hex (leading 0x); all parts but the last are one byte, the last fills the
// remaining bytes (127.1 = 127.0.0.1, 2130706433 = 127.0.0.1). One trailing
// dot and anything after a whitespace character are ignored, as inet_aton
// does.
func parseLooseIPv4(s string) (netip.Addr, bool) {
	if i := strings.IndexAny(s, " \t\n\v\f\r"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, part := range parts {
		n, ok := parseLooseUint(part)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (24 - 8*i)
			continue
		}
		if n > uint64(1)<<(8*(5-len(parts)))-1 {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseLooseUint reads one part of a loose IPv4 address; "0x" alone is 0 as
// in inet_aton. Values above 2^32 fail early so long inputs cannot overflow.
func parseLooseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d, ok := digit(s[i])
		if !ok || d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

func digit(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// foldHost maps the characters IDNA would turn into ASCII digits, letters and
// dots in the common disguises: fullwidth forms (１２７．０．０．１) and the
// ideographic full stops. It is not full IDNA: other non-ASCII hosts stay as
// they are and are treated as names (checked when dialed).
func foldHost(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xff01 && r <= 0xff5e: // fullwidth ASCII
			return r - 0xfee0
		case r == 0x3002 || r == 0xff61 || r == 0xfe52: // ideographic, halfwidth, small full stop
			return '.'
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
