package egress

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// requireRule asserts err is a *DeniedError with rule, or nil when rule is "".
func requireRule(t *testing.T, rule string, err error) {
	t.Helper()
	if rule == "" {
		require.NoError(t, err)
		return
	}
	var denied *DeniedError
	require.ErrorAs(t, err, &denied)
	require.Equal(t, rule, denied.Rule, "error: %v", err)
}

func TestCheckIP_AllowLists(t *testing.T) {
	wide := &Policy{AllowCIDRs: prefixes("127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/0", "::/0")}
	exact := &Policy{AllowCIDRs: prefixes("169.254.169.254/32", "fd00:ec2::254/128")}
	mapped := &Policy{AllowCIDRs: prefixes("::ffff:10.0.0.0/104")}
	hosts := &Policy{AllowHosts: []string{"jobservice", "*.corp.example", "169.254.169.254"}}
	for _, tc := range []struct {
		name string
		p    *Policy
		host string
		ip   string
		rule string
	}{
		{"cidr allows loopback", wide, "", "127.0.0.1", ""},
		{"cidr allows mapped loopback", wide, "", "::ffff:127.0.0.1", ""},
		{"cidr allows link-local", wide, "", "169.254.1.1", ""},
		{"wide range never allows metadata", wide, "", "169.254.169.254", RuleMetadata},
		{"cgnat range never allows metadata", wide, "", "100.100.100.200", RuleMetadata},
		{"::/0 never allows metadata", wide, "", "fd00:ec2::254", RuleMetadata},
		{"::/0 never allows mapped metadata", wide, "", "::ffff:169.254.169.254", RuleMetadata},
		{"exact /32 allows metadata", exact, "", "169.254.169.254", ""},
		{"exact /32 allows mapped metadata", exact, "", "::ffff:169.254.169.254", ""},
		{"exact /128 allows metadata", exact, "", "fd00:ec2::254", ""},
		{"exact /32 allows nothing else", exact, "", "169.254.169.253", RuleLinkLocal},
		{"mapped prefix matches ipv4", mapped, "", "10.1.2.3", ""},
		{"zero policy denies private", &Policy{}, "api.internal", "10.0.0.1", RulePrivate},
		{"host allowed", hosts, "jobservice", "10.0.0.7", ""},
		{"host allowed case and dot", hosts, "JobService.", "10.0.0.7", ""},
		{"host allowed, any internal address", hosts, "jobservice", "127.0.0.1", ""},
		{"host allowed, metadata still denied", hosts, "jobservice", "100.100.100.200", RuleMetadata},
		{"wildcard subdomain", hosts, "api.corp.example", "10.0.0.5", ""},
		{"wildcard deep subdomain", hosts, "a.b.corp.example", "fd00::5", ""},
		{"wildcard not apex", hosts, "corp.example", "10.0.0.5", RulePrivate},
		{"wildcard not suffix trick", hosts, "evilcorp.example", "10.0.0.5", RulePrivate},
		{"other host denied", hosts, "jobservice.evil.example", "10.0.0.5", RulePrivate},
		{"ip literal in hosts is exact", hosts, "", "169.254.169.254", ""},
		{"ip literal in hosts allows nothing else", hosts, "", "169.254.169.253", RuleLinkLocal},
		{"public needs no allow", &Policy{}, "example.com", "8.8.8.8", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireRule(t, tc.rule, tc.p.CheckIP(tc.host, netip.MustParseAddr(tc.ip), 443))
		})
	}
}

func TestCheckIP_HostAllowDoesNotOpenMetadata(t *testing.T) {
	p := &Policy{AllowHosts: []string{"jobservice", "*.corp.example"}}
	requireRule(t, RuleMetadata, p.CheckIP("jobservice", netip.MustParseAddr("169.254.169.254"), 80))
	requireRule(t, RuleMetadata, p.CheckIP("x.corp.example", netip.MustParseAddr("fd00:ec2::254"), 80))
}

func TestCheckURL_PortsAndSchemes(t *testing.T) {
	zero := &Policy{}
	tls := &Policy{Ports: []int{443}, Schemes: []string{"https"}}
	for _, tc := range []struct {
		name string
		p    *Policy
		url  string
		rule string
	}{
		{"http allowed by default", zero, "http://8.8.8.8:8080/", ""},
		{"https allowed by default", zero, "HTTPS://example.com/", ""},
		{"ftp denied by default", zero, "ftp://example.com/", RuleScheme},
		{"file denied by default", zero, "file:///etc/passwd", RuleScheme},
		{"gopher denied by default", zero, "gopher://127.0.0.1:6379/_", RuleScheme},
		{"out-of-range port", zero, "http://example.com:99999/", RulePort},
		{"port zero", zero, "http://example.com:0/", RulePort},
		{"https default port allowed", tls, "https://8.8.8.8/", ""},
		{"https name default port allowed", tls, "https://example.com/", ""},
		{"other port denied", tls, "https://8.8.8.8:8443/", RulePort},
		{"other port denied for names", tls, "https://example.com:8443/", RulePort},
		{"scheme not in list", tls, "http://8.8.8.8:443/", RuleScheme},
		{"port checked before address", tls, "https://127.0.0.1:22/", RulePort},
		{"address checked on allowed port", tls, "https://127.0.0.1/", RuleLoopback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			require.NoError(t, err)
			requireRule(t, tc.rule, tc.p.CheckURL(u))
		})
	}
	requireRule(t, RuleScheme, zero.CheckURL(nil))
	requireRule(t, RulePort, tls.CheckIP("", netip.MustParseAddr("8.8.8.8"), 80))
}

func TestDeniedError_Messages(t *testing.T) {
	tls := &Policy{Ports: []int{80, 443}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"loopback", (&Policy{}).CheckIP("localhost", netip.MustParseAddr("127.0.0.1"), 8081),
			`destination denied: 127.0.0.1:8081 (host "localhost") is loopback (rule "loopback"); to allow it, start the worker with --egress-allow 127.0.0.0/8 (or --egress-allow localhost to trust that host name)`},
		{"ip literal host is not repeated", (&Policy{}).CheckIP("10.0.0.1", netip.MustParseAddr("10.0.0.1"), 80),
			`destination denied: 10.0.0.1:80 is a private address (rule "private"); to allow it, start the worker with --egress-allow 10.0.0.1/32`},
		{"disguised host is shown", (&Policy{}).CheckURL(mustURL(t, "http://2130706433/")),
			`destination denied: 127.0.0.1:80 (host "2130706433") is loopback (rule "loopback"); to allow it, start the worker with --egress-allow 127.0.0.0/8`},
		{"embedded", (&Policy{}).CheckURL(mustURL(t, "http://[64:ff9b::a00:1]/")),
			`destination denied: [64:ff9b::a00:1]:80 is a private address via its embedded IPv4 10.0.0.1 (rule "private"); to allow it, start the worker with --egress-allow 64:ff9b::a00:1/128`},
		{"metadata", (&Policy{}).CheckIP("", netip.MustParseAddr("169.254.169.254"), 80),
			`destination denied: 169.254.169.254:80 is a cloud metadata address (rule "metadata"); ranges never allow metadata addresses: to allow it, name it exactly with --egress-allow 169.254.169.254/32`},
		{"port", tls.CheckIP("api.example.com", netip.MustParseAddr("8.8.8.8"), 8080),
			`destination denied: 8.8.8.8:8080 (host "api.example.com") uses port 8080, which is not allowed (rule "port"); allowed: 80,443; to allow it, start the worker with --egress-ports 80,443,8080`},
		{"scheme", (&Policy{}).CheckURL(mustURL(t, "ftp://files.example.com/pub")),
			`destination denied: files.example.com uses scheme "ftp", which is not allowed (rule "scheme"); allowed: http,https; to allow it, start the worker with --egress-schemes http,https,ftp`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.EqualError(t, tc.err, tc.want)
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// staticResolver answers from a map and counts calls; a name not in the map
// fails, so no test ever reaches a real resolver.
type staticResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr // successive answers per name; the last repeats
	calls   map[string]int
}

func newResolver(answers map[string][][]netip.Addr) *staticResolver {
	return &staticResolver{answers: answers, calls: map[string]int{}}
}

func (r *staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok := r.answers[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	i := min(r.calls[host], len(seq)-1)
	r.calls[host]++
	return seq[i], nil
}

func (r *staticResolver) callsTo(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func TestCheckHost(t *testing.T) {
	res := newResolver(map[string][][]netip.Addr{
		"public.example": {addrs("8.8.8.8", "2606:4700::1111")},
		"mixed.example":  {addrs("8.8.8.8", "10.0.0.1")},
		"mapped.example": {addrs("::ffff:127.0.0.1")},
		"empty.example":  {nil},
	})
	p := &Policy{Resolver: res}
	ctx := context.Background()
	requireRule(t, "", p.CheckHost(ctx, "public.example", 443))
	requireRule(t, RulePrivate, p.CheckHost(ctx, "mixed.example", 443))
	requireRule(t, RuleLoopback, p.CheckHost(ctx, "mapped.example", 443))
	requireRule(t, RuleLoopback, p.CheckHost(ctx, "2130706433", 443))
	requireRule(t, RuleLoopback, p.CheckHost(ctx, "[::1]", 443))
	requireRule(t, RuleLinkLocal, p.CheckHost(ctx, "fe80::1%eth0", 443))
	requireRule(t, RuleUnspecified, p.CheckHost(ctx, "", 443))
	requireRule(t, RulePort, p.CheckHost(ctx, "public.example", 0))
	require.Zero(t, res.callsTo("2130706433")+res.callsTo("[::1]"), "literals must not be resolved")

	for _, host := range []string{"unknown.example", "empty.example", "münchen.example"} {
		err := p.CheckHost(ctx, host, 443)
		require.Error(t, err)
		require.False(t, errors.As(err, new(*DeniedError)), "a lookup failure is not a denial: %v", err)
	}
	require.Zero(t, res.callsTo("münchen.example"), "non-ASCII names must not be resolved")
}

func TestAllowsHostAndLoopback(t *testing.T) {
	p := &Policy{AllowHosts: []string{"jobs.internal", "*.corp.example", "10.0.0.5"}}
	require.True(t, p.AllowsHost("JOBS.internal."))
	require.True(t, p.AllowsHost("api.corp.example"))
	require.False(t, p.AllowsHost("corp.example"))
	require.False(t, p.AllowsHost("10.0.0.5"), "addresses are decided by CheckIP, not by name")
	require.False(t, (*Policy)(nil).AllowsHost("jobs.internal"))

	lo := p.AllowLoopback()
	require.NoError(t, lo.CheckIP("", netip.MustParseAddr("127.0.0.1"), 80))
	require.NoError(t, lo.CheckIP("", netip.MustParseAddr("::1"), 80))
	require.Error(t, lo.CheckIP("", netip.MustParseAddr("10.0.0.1"), 80), "only loopback is added")
	require.Error(t, p.CheckIP("", netip.MustParseAddr("127.0.0.1"), 80), "the original policy is unchanged")
	require.NoError(t, Loopback().CheckIP("", netip.MustParseAddr("127.0.0.2"), 80))
}
