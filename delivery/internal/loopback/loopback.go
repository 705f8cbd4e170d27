// Package loopback decides whether a configured host is this machine, the
// one case in which the delivery packages allow a connection without TLS
// (smtpsender's NoTLS, webhooksender's http:// URLs): a local relay or a
// test server.
package loopback

import (
	"net/netip"
	"strings"
)

// Is reports whether host names the loopback interface: "localhost" (in
// any case), an IPv4 address in 127.0.0.0/8, ::1, or an IPv4-mapped IPv6
// form of either (::ffff:127.0.0.1). IPv6 literals may come with or
// without brackets ("[::1]", as in a URL's host, or "::1"), and with a
// zone. Any other name is not loopback, even one that resolves there:
// what a name resolves to can change after the check.
func Is(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
