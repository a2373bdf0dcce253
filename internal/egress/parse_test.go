package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	p, err := Parse([]string{"127.0.0.0/8", "::1", "jobservice"}, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "deny internal addresses; allow 127.0.0.0/8, ::1/128, host jobservice; ports any; schemes http,https", p.String())

	p, err = Parse([]string{"10.0.0.0/8, *.Corp.Example.", "[::ffff:192.168.1.10]", "::ffff:172.16.0.0/108", " "},
		[]string{"443,80", "443"}, []string{"HTTPS"})
	require.NoError(t, err)
	require.Equal(t, &Policy{
		AllowCIDRs: prefixes("10.0.0.0/8", "192.168.1.10/32", "172.16.0.0/12"),
		AllowHosts: []string{"*.corp.example"},
		Ports:      []int{443, 80},
		Schemes:    []string{"https"},
	}, p)
	require.Equal(t, "deny internal addresses; allow 10.0.0.0/8, 192.168.1.10/32, 172.16.0.0/12, host *.corp.example; ports 443,80; schemes https", p.String())
	requireRule(t, "", p.CheckIP("", netip.MustParseAddr("192.168.1.10"), 443))
	requireRule(t, RulePrivate, p.CheckIP("", netip.MustParseAddr("192.168.1.11"), 443))

	p, err = Parse(nil, nil, nil)
	require.NoError(t, err)
	require.Equal(t, &Policy{}, p)
	require.Equal(t, "deny internal addresses; allow none; ports any; schemes http,https", p.String())
	require.Equal(t, p.String(), (*Policy)(nil).String())
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct {
		allow, ports, schemes string
		want                  string
	}{
		{allow: "10.0.0.0/33", want: `--egress-allow: "10.0.0.0/33" is not a CIDR, IP or host name (use e.g. 10.0.0.0/8, 192.168.1.10 or api.internal)`},
		{allow: "not a host", want: `--egress-allow: "not a host" is not a CIDR, IP or host name (use e.g. 10.0.0.0/8, 192.168.1.10 or api.internal)`},
		{allow: "-bad.example", want: `--egress-allow: "-bad.example" is not a CIDR, IP or host name (use e.g. 10.0.0.0/8, 192.168.1.10 or api.internal)`},
		{allow: "a..b", want: `--egress-allow: "a..b" is not a CIDR, IP or host name (use e.g. 10.0.0.0/8, 192.168.1.10 or api.internal)`},
		{allow: "10.0.0.1/8", want: `--egress-allow: "10.0.0.1/8" has bits set after the prefix length (use 10.0.0.0/8)`},
		{allow: "fe80::1%eth0", want: `--egress-allow: "fe80::1%eth0" has a zone; zones are not supported (use fe80::1)`},
		{allow: "0x7f.1", want: `--egress-allow: "0x7f.1" is an IP address in a non-standard form (write it as 127.0.0.1)`},
		{allow: "*", want: `--egress-allow: "*" would allow every host name; name a domain (e.g. *.corp.example) or a CIDR`},
		{ports: "http", want: `--egress-ports: "http" is not a port number (use 1-65535, e.g. 80,443)`},
		{ports: "443,0", want: `--egress-ports: "0" is not a port number (use 1-65535, e.g. 80,443)`},
		{ports: "65536", want: `--egress-ports: "65536" is not a port number (use 1-65535, e.g. 80,443)`},
		{schemes: "ht tp", want: `--egress-schemes: "ht tp" is not a URL scheme (use e.g. http,https)`},
		{schemes: "https,1http", want: `--egress-schemes: "1http" is not a URL scheme (use e.g. http,https)`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			p, err := Parse([]string{tc.allow}, []string{tc.ports}, []string{tc.schemes})
			require.EqualError(t, err, tc.want)
			require.Nil(t, p)
		})
	}
}
