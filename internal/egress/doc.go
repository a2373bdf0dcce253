// Package egress is the worker's outbound policy: it decides which
// destinations the HTTP requests of user-written nodes may reach.
//
// # Threat
//
// Whoever writes a node chooses the URLs the worker calls, so without a policy
// a node can make the worker reach what only the worker can reach (server-side
// request forgery): the cloud metadata service and its credentials
// (169.254.169.254 and friends), the Temporal frontend, databases and admin
// ports on loopback or the private network. Attackers hide such addresses:
//
//   - disguised IPv4 literals that inet_aton-style parsers accept
//     (2130706433, 0x7f000001, 0177.0.0.1, 127.1), fullwidth digits that IDNA
//     maps to ASCII, trailing dots;
//   - IPv6 forms that embed an IPv4 address (::ffff:127.0.0.1, NAT64
//     64:ff9b::7f00:1, 6to4 2002:7f00:1::, Teredo), zones (fe80::1%eth0);
//   - host names that resolve to internal addresses, or to a public address
//     when checked and an internal one when dialed (DNS rebinding), or to
//     several addresses of which one is internal.
//
// The check that counts therefore happens at dial time, on the address
// actually dialed: [Policy.DialContext] resolves the name once, denies the
// whole answer if any address in it is denied, dials the checked addresses
// itself, and re-checks every address in the dialer's Control hook. A denied
// destination makes no connection at all. [Policy.CheckURL] is an early,
// resolver-free check of the scheme, the port and IP literals, so that a bad
// node fails before anything is sent; it does not replace the dial-time check.
// Redirects dial through the same DialContext and are checked the same way.
//
// Proxies: when requests go through a forward proxy the worker dials only the
// proxy (which DialContext would judge like any destination: allow its
// address or do not use DialContext for that transport) and the proxy
// resolves the target itself. [Policy.CheckHost] resolves and checks the
// target before sending, but the proxy may get a different answer; a proxy
// must enforce its own egress policy for the guarantee to hold.
//
// # Defaults
//
// The zero [Policy] denies every address in the IANA special-purpose
// registries (loopback, private, unique-local, link-local, carrier-grade NAT,
// unspecified, multicast, broadcast, reserved, documentation, benchmarking,
// IPv6 outside 2000::/3) and the cloud metadata addresses, and allows public
// addresses on any port over http and https. [Policy.AllowCIDRs] and
// [Policy.AllowHosts] open internal destinations; a metadata address opens
// only when named exactly. Every denial is a [*DeniedError] whose Rule is a
// stable name (see the Rule constants) and whose message says which worker
// flag would allow it.
package egress
