package recovery

import (
	"fmt"
	"html"
	"net"
	"net/url"
	"strings"
)

// Link messages: Config.LinkBaseURL and LinkPlaceholder. The link is the
// base URL with username and code added to its query by net/url
// (url.Values, so "code" comes before "username"), HTML-escaped in
// EmailHTML and raw in the text and SMS bodies.

// parseLinkBase checks Config.LinkBaseURL: an absolute https URL (http
// only for localhost and loopback addresses), without a fragment, userinfo,
// or a username or code of its own in the query. It returns nil for "".
func parseLinkBase(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	const fix = "use the absolute https URL of your page that takes the code, such as https://example.com/reset"
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL does not parse (%v): %s", err, fix)
	}
	host := u.Hostname()
	switch {
	case !u.IsAbs() || host == "" || u.Opaque != "":
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q is not an absolute URL with a host: %s", s, fix)
	case u.Scheme == "http" && !loopback(host):
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q uses http, which shows the code to the network: use https (http is allowed for localhost only)", s)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q has scheme %q: %s", s, u.Scheme, fix)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q has a fragment: remove the #..., which would come before the query the engine adds", s)
	case u.User != nil:
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q holds a user name or password: remove it", s)
	case strings.ContainsAny(s, "{}"):
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q holds { or }: percent-encode them (%%7B, %%7D)", s)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q has a malformed query (%v): fix its escaping", s, err)
	}
	if q.Has("username") || q.Has("code") {
		return nil, fmt.Errorf("recovery: Config.LinkBaseURL %q sets username or code itself: remove them, the engine adds both", s)
	}
	return u, nil
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// link is base with the username and code added to its query, escaped by
// net/url; "" without a base or a code.
func link(base *url.URL, username, code string) string {
	if base == nil || code == "" {
		return ""
	}
	u := *base
	q := url.Values{"username": {username}, "code": {code}}.Encode()
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery, u.ForceQuery = q, false
	return u.String()
}

// linkRendering is a message's link in the forms its bodies take: raw for
// text and SMS, HTML-escaped for EmailHTML.
type linkRendering struct{ raw, html string }

func renderLink(base *url.URL, username, code string) linkRendering {
	l := link(base, username, code)
	return linkRendering{raw: l, html: html.EscapeString(l)}
}
