package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLooseIPv4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = not an IPv4 literal
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"0x7F.0X0.0x0.0x1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"1.65535", "1.0.255.255"},
		{"1.2.65535", "1.2.255.255"},
		{"4294967295", "255.255.255.255"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"00", "0.0.0.0"},
		{"1.2.3.4.", "1.2.3.4"},
		{"1.2.3.4 trailing", "1.2.3.4"},
		{"", ""},
		{".", ""},
		{"1..2", ""},
		{".1.2", ""},
		{"1.2.3.4.5", ""},
		{"256.0.0.1", ""},
		{"1.2.3.256", ""},
		{"1.16777216", ""},
		{"1.2.65536", ""},
		{"4294967296", ""},
		{"99999999999999999999999999", ""},
		{"08.0.0.1", ""},
		{"0xg", ""},
		{"-1", ""},
		{"+1", ""},
		{"1e3", ""},
		{"example.com", ""},
		{"deadbeef", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseLooseIPv4(tc.in)
			if tc.want == "" {
				require.False(t, ok, "parsed as %s", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, netip.MustParseAddr(tc.want), got)
		})
	}
}

func TestHostLiteral(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"[::ffff:7f00:1]", "::ffff:127.0.0.1"},
		{"127.0.0.1%eth0", "127.0.0.1"},
		{"127.0.0.1%09", "127.0.0.1"},
		{"[::1].", "::1"},
		{"::ffff:127.0.0.1.", "::ffff:127.0.0.1"},
		{"０ｘ７ｆ．１", "127.0.0.1"},
		{"localhost", ""},
		{"localhost.", ""},
		{"[jobservice]", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := hostLiteral(tc.in)
			if tc.want == "" {
				require.False(t, ok, "parsed as %s", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, netip.MustParseAddr(tc.want), got)
		})
	}
}
