package secrets

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Binding lists the destinations a secret may be sent to. The zero value
// allows none.
type Binding []Pattern

// Pattern is one destination of a binding, written [scheme://]host[:port]:
//
//	api.example.com           https://api.example.com on port 443
//	*.example.com             https on port 443, any name under example.com (not example.com itself)
//	api.example.com:8443      https on port 8443
//	http://10.0.0.7:8080      plain http: only when written so
//	https://api.example.com:* any port
//
// Host names match case-insensitively and without a trailing dot; IP
// addresses match as written in the URL ([::1] for IPv6).
type Pattern struct {
	Scheme string // "http" or "https"
	Host   string // lower case; for a wildcard, the domain after "*."
	// Wildcard matches names under Host, not Host itself.
	Wildcard bool
	Port     int // 0: any port
}

// ParseBinding reads a binding: patterns separated by commas, spaces or
// newlines; "#" starts a comment to the end of the line.
func ParseBinding(s string) (Binding, error) {
	var b Binding
	for line := range strings.Lines(s) {
		line, _, _ = strings.Cut(line, "#")
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
			p, err := ParsePattern(f)
			if err != nil {
				return nil, err
			}
			b = append(b, p)
		}
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("no host in it (list the hosts the secret may be sent to, such as api.example.com)")
	}
	return b, nil
}

// ParsePattern reads one pattern of a binding (see Pattern).
func ParsePattern(s string) (Pattern, error) {
	p := Pattern{Scheme: "https"}
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return p, fmt.Errorf("%q: scheme %q is not http or https", s, scheme)
		}
		p.Scheme, rest = scheme, after
	}
	if strings.ContainsAny(rest, "/?#@") {
		return p, fmt.Errorf("%q: give a host with an optional port, without a path (such as api.example.com or http://10.0.0.7:8080)", s)
	}
	host, portText := rest, ""
	if h, pt, err := net.SplitHostPort(rest); err == nil {
		host, portText = h, pt
	} else if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		host = rest[1 : len(rest)-1]
	}
	switch portText {
	case "":
		p.Port = defaultPort(p.Scheme)
	case "*":
		p.Port = 0
	default:
		n, err := strconv.Atoi(portText)
		if err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("%q: port %q is not a port number or *", s, portText)
		}
		p.Port = n
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if domain, ok := strings.CutPrefix(host, "*."); ok {
		if !strings.Contains(domain, ".") || strings.Contains(domain, "*") {
			return p, fmt.Errorf("%q: a wildcard needs a domain of at least two labels after \"*.\" (such as *.example.com)", s)
		}
		p.Host, p.Wildcard = domain, true
		return p, nil
	}
	if host == "" || strings.ContainsAny(host, "* ") {
		return p, fmt.Errorf("%q: give one host name or IP address (a wildcard only as *.example.com)", s)
	}
	p.Host = host
	return p, nil
}

// Allows reports whether a request to u may carry the secret.
func (b Binding) Allows(u *url.URL) bool {
	for _, p := range b {
		if p.Allows(u) {
			return true
		}
	}
	return false
}

// Allows reports whether u is a destination of p.
func (p Pattern) Allows(u *url.URL) bool {
	if u.Scheme != p.Scheme || (p.Port != 0 && urlPort(u) != p.Port) {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if p.Wildcard {
		return strings.HasSuffix(host, "."+p.Host)
	}
	return host == p.Host
}

// String writes p as ParsePattern reads it, in its shortest form.
func (p Pattern) String() string {
	host := p.Host
	if p.Wildcard {
		host = "*." + host
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch {
	case p.Port == 0:
		host += ":*"
	case p.Port != defaultPort(p.Scheme):
		host += ":" + strconv.Itoa(p.Port)
	}
	if p.Scheme == "https" {
		return host
	}
	return p.Scheme + "://" + host
}

// String writes b as ParseBinding reads it.
func (b Binding) String() string {
	parts := make([]string, len(b))
	for i, p := range b {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// PatternFor is the narrowest pattern that allows u: what to bind a secret
// to so that it may go there.
func PatternFor(u *url.URL) Pattern {
	return Pattern{Scheme: u.Scheme, Host: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), Port: urlPort(u)}
}

// Loopback binds to this machine, any port, http or https: what worker
// --dev gives secrets that have no binding of their own, for its demo.
var Loopback = mustBinding("http://127.0.0.1:*,https://127.0.0.1:*,http://localhost:*,https://localhost:*,http://[::1]:*,https://[::1]:*")

func mustBinding(s string) Binding {
	b, err := ParseBinding(s)
	if err != nil {
		panic(err)
	}
	return b
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

// urlPort is u's port, the scheme's default when absent.
func urlPort(u *url.URL) int {
	if n, err := strconv.Atoi(u.Port()); err == nil {
		return n
	}
	return defaultPort(u.Scheme)
}
