package egress

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// destinations are URL hosts (as written between "http://" and "/") with the
// rule the zero Policy applies; "" means allowed. They also seed FuzzCheckURL.
var destinations = []struct {
	host string
	rule string
}{
	// IPv4 special-purpose ranges.
	{"0.0.0.0", RuleUnspecified},
	{"0.1.2.3", RuleUnspecified},
	{"10.0.0.1", RulePrivate},
	{"172.16.0.1", RulePrivate},
	{"172.31.255.255", RulePrivate},
	{"192.168.1.1", RulePrivate},
	{"100.64.0.1", RuleCGNAT},
	{"100.127.255.254", RuleCGNAT},
	{"127.0.0.1", RuleLoopback},
	{"127.255.255.254:8080", RuleLoopback},
	{"169.254.1.1", RuleLinkLocal},
	{"192.0.0.8", RuleReserved},
	{"192.0.2.1", RuleDocumentation},
	{"198.51.100.7", RuleDocumentation},
	{"203.0.113.9", RuleDocumentation},
	{"192.88.99.1", RuleReserved},
	{"198.18.0.1", RuleBenchmarking},
	{"198.19.255.1", RuleBenchmarking},
	{"224.0.0.1", RuleMulticast},
	{"239.255.255.250", RuleMulticast},
	{"240.0.0.1", RuleReserved},
	{"255.255.255.255", RuleBroadcast},
	// Cloud metadata, including inside ranges that are otherwise allowed.
	{"169.254.169.254", RuleMetadata},
	{"100.100.100.200", RuleMetadata},
	{"192.0.0.192", RuleMetadata},
	{"[fd00:ec2::254]", RuleMetadata},
	{"[::ffff:169.254.169.254]", RuleMetadata},
	{"[64:ff9b::a9fe:a9fe]", RuleMetadata},
	{"[2002:a9fe:a9fe::]", RuleMetadata},
	// IPv6 special-purpose ranges.
	{"[::]", RuleUnspecified},
	{"[::1]", RuleLoopback},
	{"[fc00::1]", RuleUniqueLocal},
	{"[fd12:3456::1]", RuleUniqueLocal},
	{"[fe80::1]", RuleLinkLocal},
	{"[fe80::1%25eth0]", RuleLinkLocal},
	{"[fec0::1]", RuleReserved},
	{"[ff02::1]", RuleMulticast},
	{"[2001:db8::1]", RuleDocumentation},
	{"[3fff:fff::1]", RuleDocumentation},
	{"[100::1]", RuleReserved},
	{"[2001:2::1]", RuleBenchmarking},
	{"[2001:4:112::1]", RuleReserved},
	{"[2001:10::1]", RuleReserved},
	{"[5f00::1]", RuleReserved},
	{"[::ffff:0:7f00:1]", RuleReserved}, // outside 2000::/3
	// IPv6 forms that embed an IPv4 address.
	{"[::ffff:127.0.0.1]", RuleLoopback},
	{"[::ffff:7f00:1]", RuleLoopback},
	{"[0:0:0:0:0:ffff:127.0.0.1]", RuleLoopback},
	{"[::ffff:10.0.0.1]", RulePrivate},
	{"[::127.0.0.1]", RuleLoopback},
	{"[::8.8.8.8]", RuleIPv4Compatible},
	{"[64:ff9b::7f00:1]", RuleLoopback},
	{"[64:ff9b:1::a00:1]", RulePrivate},
	{"[64:ff9b:1::808:808]", RuleNAT64},
	{"[2002:7f00:1::]", RuleLoopback},
	{"[2002:c0a8:101::1]", RulePrivate},
	{"[2001:0:4136:e378:8000:63bf:80ff:fffe]", RuleLoopback}, // Teredo client 127.0.0.1
	{"[2001:0:4136:e378:8000:63bf:f7f7:f7f7]", RuleTeredo},   // Teredo client 8.8.8.8
	// Disguised IPv4 literals.
	{"2130706433", RuleLoopback},
	{"0x7f000001", RuleLoopback},
	{"0X7F000001", RuleLoopback},
	{"017700000001", RuleLoopback},
	{"0177.0.0.1", RuleLoopback},
	{"0x7f.0.0.1", RuleLoopback},
	{"127.1", RuleLoopback},
	{"127.0.1", RuleLoopback},
	{"0x7f.1", RuleLoopback},
	{"0177.0x0.1", RuleLoopback},
	{"127.0.0.1.", RuleLoopback},
	{"2130706433.:8081", RuleLoopback},
	{"１２７.０.０.１", RuleLoopback},
	{"127。0。0。1", RuleLoopback},
	{"0", RuleUnspecified},
	{"10.1", RulePrivate},
	{"3232235777", RulePrivate},
	{"0xa9fea9fe", RuleMetadata},
	{"0251.0376.0251.0376", RuleMetadata},
	// Public destinations.
	{"8.8.8.8", ""},
	{"1.1.1.1", ""},
	{"172.32.0.1", ""},
	{"134744072", ""}, // 8.8.8.8 in decimal
	{"[2606:4700::1111]", ""},
	{"[2001:4860:4860::8888]", ""},
	{"[2001:200::1]", ""}, // just past 2001::/23
	{"[::ffff:8.8.8.8]", ""},
	{"[64:ff9b::808:808]", ""},
	{"[2002:808:808::1]", ""},
	{"example.com", ""}, // names are checked when dialed
}

func TestCheckURL_Destinations(t *testing.T) {
	require.GreaterOrEqual(t, len(destinations), 40)
	var p Policy
	for _, tc := range destinations {
		t.Run(tc.host, func(t *testing.T) {
			u, err := url.Parse("http://" + tc.host + "/")
			require.NoError(t, err)
			err = p.CheckURL(u)
			if tc.rule == "" {
				require.NoError(t, err)
			} else {
				var denied *DeniedError
				require.ErrorAs(t, err, &denied)
				require.Equal(t, tc.rule, denied.Rule)
			}
			if ip, ok := hostLiteral(u.Hostname()); ok {
				require.Equal(t, tc.rule, Classify(ip), "Classify(%s)", ip)
			}
		})
	}
}

func TestClassify_ZonesAndZeroValue(t *testing.T) {
	require.Equal(t, RuleUnspecified, Classify(netip.Addr{}))
	require.Equal(t, RuleLinkLocal, Classify(netip.MustParseAddr("fe80::1%eth0")))
	require.Equal(t, RuleLoopback, Classify(netip.MustParseAddr("::ffff:127.0.0.1%eth0")))
	require.Equal(t, "", Classify(netip.MustParseAddr("2606:4700::1111%eth0")))
}
