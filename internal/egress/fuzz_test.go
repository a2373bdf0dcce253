package egress

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

// FuzzCheckURL checks that CheckURL never panics, denies only with a
// *DeniedError, and never passes a URL whose host is an IP literal (by
// netip, the loose IPv4 parser or hostLiteral) that Classify denies.
func FuzzCheckURL(f *testing.F) {
	for _, d := range destinations {
		f.Add("http://" + d.host + "/")
	}
	for _, s := range []string{
		"https://[::ffff:7f00:1]:443/x?y#z", "http://user:pw@0x7f.1:80/", "ftp://127.0.0.1/",
		"http://localhost./", "http://[fe80::1%25eth0]:8080/", "http://127.0.0.1%2509/", "http:127.0.0.1",
		"//127.0.0.1/", "http://:80/", "HTTP://0251.0376.0251.0376./",
	} {
		f.Add(s)
	}
	var p Policy
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		err = p.CheckURL(u)
		if err != nil {
			var denied *DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("CheckURL(%q) = %T %v, want *DeniedError", raw, err, err)
			}
			_ = denied.Error()
			return
		}
		host := u.Hostname()
		var candidates []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			candidates = append(candidates, ip)
		}
		if ip, ok := parseLooseIPv4(host); ok {
			candidates = append(candidates, ip)
		}
		if ip, ok := hostLiteral(host); ok {
			candidates = append(candidates, ip)
		}
		for _, ip := range candidates {
			if rule := Classify(ip); rule != "" {
				t.Fatalf("CheckURL(%q) allowed host %q = %s, which Classify denies as %q", raw, host, ip, rule)
			}
		}
	})
}
