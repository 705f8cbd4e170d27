package smtpsender

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// errMalformedURL never quotes the URL: it may hold a password.
var errMalformedURL = errors.New("smtpsender: the SMTP URL is malformed: want smtp://user:password@host:port?from=address (percent-encode reserved characters in the password)")

// ParseURL reads a Config from a URL, the form mail settings often take in
// an environment variable:
//
//	smtp://user:password@smtp.example.com:587?from=no-reply@example.com
//
// The scheme chooses Config.TLS: smtp is StartTLS (required), smtps is
// ImplicitTLS. The user and password are Username and Password. Query
// parameters set the rest: from, from_name, reply_to, tls (starttls,
// opportunistic, implicit or none), auth (plain, login, cram-md5 or none)
// and pipelining (on, the default, or off: DisablePipelining); any other
// parameter is an error, so a misspelt one is not ignored.
// New checks the result as it checks any Config. Errors never contain the
// password or the URL.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return Config{}, errMalformedURL
	}
	var cfg Config
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		cfg.TLS = StartTLS
	case "smtps":
		cfg.TLS = ImplicitTLS
	default:
		return Config{}, fmt.Errorf("smtpsender: the SMTP URL's scheme is %q: use smtp (STARTTLS) or smtps (TLS from the start)", u.Scheme)
	}
	cfg.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if cfg.Port, err = strconv.Atoi(p); err != nil || cfg.Port < 1 || cfg.Port > 65535 {
			return Config{}, fmt.Errorf("smtpsender: the SMTP URL's port %q is not a TCP port", p)
		}
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, errMalformedURL
	}
	if err := cfg.setQuery(q); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// NewFromURL is ParseURL followed by New: a Sender from a URL such as
// smtp://user:password@smtp.example.com:587?from=no-reply@example.com.
func NewFromURL(raw string) (*Sender, error) {
	cfg, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// setQuery applies the URL's query parameters.
func (c *Config) setQuery(q url.Values) error {
	for name, values := range q {
		if len(values) != 1 {
			return fmt.Errorf("smtpsender: the SMTP URL gives %q %d times: give it once", name, len(values))
		}
		v := values[0]
		switch name {
		case "from":
			c.From = v
		case "from_name":
			c.FromName = v
		case "reply_to":
			c.ReplyTo = v
		case "tls":
			modes := map[string]TLSMode{"starttls": StartTLS, "opportunistic": StartTLSOpportunistic, "implicit": ImplicitTLS, "none": NoTLS}
			m, ok := modes[strings.ToLower(v)]
			if !ok {
				return fmt.Errorf("smtpsender: the SMTP URL's tls=%q is unknown: use starttls, opportunistic, implicit or none", v)
			}
			c.TLS = m
		case "auth":
			methods := map[string]AuthMethod{"plain": AuthPlain, "login": AuthLogin, "cram-md5": AuthCRAMMD5, "none": AuthNone}
			m, ok := methods[strings.ToLower(v)]
			if !ok {
				return fmt.Errorf("smtpsender: the SMTP URL's auth=%q is unknown: use plain, login, cram-md5 or none", v)
			}
			c.Auth = m
		case "pipelining":
			switch strings.ToLower(v) {
			case "on":
				c.DisablePipelining = false
			case "off":
				c.DisablePipelining = true
			default:
				return fmt.Errorf("smtpsender: the SMTP URL's pipelining=%q is unknown: use on or off", v)
			}
		default:
			return fmt.Errorf("smtpsender: the SMTP URL has an unknown parameter %q: use from, from_name, reply_to, tls, auth or pipelining", name)
		}
	}
	return nil
}
