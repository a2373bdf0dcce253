package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Parse builds a Policy from the worker's flag values. Each value may hold
// several entries separated by commas; blanks are ignored. allow entries
// (--egress-allow) are CIDRs (10.0.0.0/8), single IPs (192.168.1.10, which
// become a /32 or /128), host names (api.internal) or wildcards
// (*.corp.example); ports (--egress-ports) are numbers 1-65535, empty = any;
// schemes (--egress-schemes) are URL schemes, empty = http and https. An
// error names the flag and the bad entry and says what is accepted.
func Parse(allow []string, ports []string, schemes []string) (*Policy, error) {
	p := &Policy{}
	for _, e := range entries(allow) {
		if err := p.addAllow(e); err != nil {
			return nil, err
		}
	}
	for _, e := range entries(ports) {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("--egress-ports: %q is not a port number (use 1-65535, e.g. 80,443)", e)
		}
		if !slices.Contains(p.Ports, n) {
			p.Ports = append(p.Ports, n)
		}
	}
	for _, e := range entries(schemes) {
		s := strings.ToLower(e)
		if !validScheme(s) {
			return nil, fmt.Errorf("--egress-schemes: %q is not a URL scheme (use e.g. http,https)", e)
		}
		if !slices.Contains(p.Schemes, s) {
			p.Schemes = append(p.Schemes, s)
		}
	}
	return p, nil
}

func entries(values []string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

func (p *Policy) addAllow(e string) error {
	bad := fmt.Errorf("--egress-allow: %q is not a CIDR, IP or host name (use e.g. 10.0.0.0/8, 192.168.1.10 or api.internal)", e)
	if strings.Contains(e, "/") {
		pre, err := netip.ParsePrefix(e)
		if err != nil {
			return bad
		}
		if pre != pre.Masked() {
			return fmt.Errorf("--egress-allow: %q has bits set after the prefix length (use %s)", e, pre.Masked())
		}
		p.AllowCIDRs = append(p.AllowCIDRs, normPrefix(pre))
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("--egress-allow: %q has a zone; zones are not supported (use %s)", e, ip.WithZone(""))
		}
		ip = ip.Unmap()
		p.AllowCIDRs = append(p.AllowCIDRs, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	if ip, ok := hostLiteral(e); ok {
		return fmt.Errorf("--egress-allow: %q is an IP address in a non-standard form (write it as %s)", e, ip.WithZone(""))
	}
	name := strings.TrimSuffix(strings.ToLower(e), ".")
	if name == "*" || strings.HasPrefix(name, "*.*") {
		return fmt.Errorf("--egress-allow: %q would allow every host name; name a domain (e.g. *.corp.example) or a CIDR", e)
	}
	if !validHostName(strings.TrimPrefix(name, "*.")) {
		return bad
	}
	p.AllowHosts = append(p.AllowHosts, name)
	return nil
}

// validHostName accepts dot-separated labels of letters, digits, '-' and '_'
// (1-63 characters, not starting or ending with '-'), 253 characters at most.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// String describes the policy in one line for the worker's start log, e.g.
// "deny internal addresses; allow 127.0.0.0/8, ::1/128, host jobservice;
// ports any; schemes http,https".
func (p *Policy) String() string {
	if p == nil {
		p = &Policy{}
	}
	var allow []string
	for _, pre := range p.AllowCIDRs {
		allow = append(allow, pre.String())
	}
	for _, h := range p.AllowHosts {
		allow = append(allow, "host "+h)
	}
	if len(allow) == 0 {
		allow = []string{"none"}
	}
	ports := "any"
	if len(p.Ports) > 0 {
		ps := make([]string, len(p.Ports))
		for i, n := range p.Ports {
			ps[i] = strconv.Itoa(n)
		}
		ports = strings.Join(ps, ",")
	}
	return fmt.Sprintf("deny internal addresses; allow %s; ports %s; schemes %s",
		strings.Join(allow, ", "), ports, strings.Join(p.schemes(), ","))
}
