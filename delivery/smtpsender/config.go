package smtpsender

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/recoverykit/recoverykit/delivery/internal/loopback"
)

// TLSMode says how the connection to the server is protected.
type TLSMode int

// TLS modes. The zero value, StartTLS, is the safe default.
const (
	// StartTLS connects in plain text and requires the STARTTLS upgrade
	// before anything else is sent; a server that does not offer it is an
	// error. Default port 587.
	StartTLS TLSMode = iota
	// StartTLSOpportunistic upgrades with STARTTLS when the server offers
	// it and goes on in plain text when it does not. An attacker on the path
	// can strip the offer, so prefer StartTLS. PLAIN and LOGIN auth still
	// refuse to send a password in plain text to a host other than
	// localhost. Default port 587.
	StartTLSOpportunistic
	// ImplicitTLS speaks TLS from the first byte ("SMTPS", RFC 8314).
	// Default port 465.
	ImplicitTLS
	// NoTLS never encrypts. It is allowed only for a loopback Host
	// (localhost, 127.0.0.0/8, ::1), such as a local relay or a test
	// server. Default port 25.
	NoTLS
)

// String returns the mode's name.
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "StartTLS"
	case StartTLSOpportunistic:
		return "StartTLSOpportunistic"
	case ImplicitTLS:
		return "ImplicitTLS"
	case NoTLS:
		return "NoTLS"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// AuthMethod is an SMTP AUTH mechanism.
type AuthMethod string

// Auth mechanisms. The zero value means AuthPlain when Config.Username is
// set and no authentication otherwise.
const (
	// AuthNone sends no AUTH command.
	AuthNone AuthMethod = "NONE"
	// AuthPlain is SASL PLAIN (RFC 4616): the password travels base64
	// encoded, so only over TLS (or to localhost).
	AuthPlain AuthMethod = "PLAIN"
	// AuthLogin is the LOGIN mechanism many providers offer; like PLAIN,
	// only over TLS (or to localhost).
	AuthLogin AuthMethod = "LOGIN"
	// AuthCRAMMD5 is CRAM-MD5 (RFC 2195): a challenge-response that does
	// not reveal the password, though the server must store it in clear.
	AuthCRAMMD5 AuthMethod = "CRAM-MD5"
)

// Defaults for Config's zero values.
const (
	DefaultConnectTimeout           = 10 * time.Second
	DefaultSendTimeout              = 30 * time.Second
	DefaultMaxConnections           = 4
	DefaultMaxMessagesPerConnection = 100
	DefaultIdleTimeout              = 5 * time.Second
)

// Config configures a Sender. Host and From are required; every other zero
// value means the default documented on its field.
type Config struct {
	// Host is the SMTP server's name or IP address, without a port.
	// Required.
	Host string
	// Port is the server's TCP port. Default: 587 for StartTLS and
	// StartTLSOpportunistic, 465 for ImplicitTLS, 25 for NoTLS.
	Port int
	// TLS chooses how the connection is protected. Default StartTLS
	// (STARTTLS required).
	TLS TLSMode
	// TLSConfig is used for STARTTLS and ImplicitTLS, for example to trust
	// a private CA (RootCAs) or present a client certificate. It is cloned;
	// an empty ServerName is set to Host, and MinVersion is raised to TLS
	// 1.2. Default: the system's roots, TLS 1.2 or newer.
	TLSConfig *tls.Config

	// Auth is the SMTP AUTH mechanism. Default: AuthPlain when Username is
	// set, AuthNone otherwise.
	Auth AuthMethod
	// Username and Password are the SMTP credentials. Password never
	// appears in an error or a log line.
	Username, Password string

	// LocalName is the name the sender gives in EHLO. Default: the
	// machine's host name.
	LocalName string

	// ConnectTimeout bounds connecting (TCP, EHLO, STARTTLS, AUTH), each
	// message's exchange from MAIL FROM to the end of DATA, and QUIT.
	// Default 10 s.
	ConnectTimeout time.Duration
	// SendTimeout bounds a whole Send, all commands together, waiting for
	// a free connection included; the context's deadline, when earlier,
	// wins. Default 30 s.
	SendTimeout time.Duration

	// MaxConnections is how many connections to the server the Sender
	// keeps open at most, busy and idle together. A Send reuses the most
	// recently used idle connection, opens a new one while fewer than
	// MaxConnections are open, and otherwise waits (within SendTimeout and
	// its context) for one to come free. Stay within the server's limit of
	// connections per client. Default 4.
	MaxConnections int
	// MaxMessagesPerConnection is how many messages a connection carries
	// before the Sender says QUIT and opens a fresh one when next needed:
	// servers often limit messages per connection (Exchange: 20 by
	// default). 1 opens a connection for every message. Default 100.
	MaxMessagesPerConnection int
	// IdleTimeout is how long a connection stays open unused before the
	// Sender says QUIT. Keep it below the server's own idle limit (as low
	// as 10 s for a loaded Postfix); a connection the server dropped is
	// replaced anyway (see Send). Default 5 s.
	IdleTimeout time.Duration

	// From is the sender's address ("no-reply@example.com"), used in the
	// From header and as the envelope sender. Required.
	From string
	// FromName is the display name in the From header ("Example"). It is
	// encoded as RFC 2047 requires when not ASCII. Optional.
	FromName string
	// ReplyTo is an address for replies, set as the Reply-To header.
	// Optional.
	ReplyTo string

	// Now is the clock for the Date header. Default time.Now.
	Now func() time.Time

	// DisablePipelining sends MAIL, RCPT and DATA one at a time, each
	// waiting for its reply, even to a server that offers PIPELINING (RFC
	// 2920), for a server that offers it and mishandles it. By default
	// they go in one write: two round trips per message instead of four.
	DisablePipelining bool
}

// validate fills the defaults and reports every problem, each saying what
// to change.
func (c *Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("smtpsender: "+format, args...)) }
	c.validateServer(add)
	c.validateAuth(add)
	c.validateTimeouts(add)
	c.validatePool(add)
	c.validateAddresses(add)
	if c.Now == nil {
		c.Now = time.Now
	}
	return errors.Join(errs...)
}

// validateServer checks the host, the TLS mode and the port, whose default
// follows the mode.
func (c *Config) validateServer(add func(string, ...any)) {
	switch {
	case c.Host == "":
		add("Config.Host is empty: set the SMTP server's host name, such as smtp.example.com")
	case strings.ContainsAny(c.Host, ":/ \t\r\n") && net.ParseIP(c.Host) == nil:
		add("Config.Host %q is not a bare host name: give the port in Config.Port and no scheme or path", c.Host)
	}
	defaultPort := map[TLSMode]int{StartTLS: 587, StartTLSOpportunistic: 587, ImplicitTLS: 465, NoTLS: 25}
	port, ok := defaultPort[c.TLS]
	switch {
	case !ok:
		add("Config.TLS is %v: use StartTLS, StartTLSOpportunistic, ImplicitTLS or NoTLS", c.TLS)
	case c.TLS == NoTLS && c.Host != "" && !loopback.Is(c.Host):
		add("Config.TLS is NoTLS but Host %q is not a loopback address: use StartTLS or ImplicitTLS, or NoTLS only for localhost", c.Host)
	}
	if c.Port == 0 {
		c.Port = port
	}
	if c.Port < 1 || c.Port > 65535 {
		add("Config.Port is %d: use 1-65535, or 0 for the TLS mode's default", c.Port)
	}
	if c.TLSConfig != nil && c.TLS == NoTLS {
		add("Config.TLSConfig is set but Config.TLS is NoTLS: choose a TLS mode or drop the TLSConfig")
	}
}

// validateAuth checks the authentication method and credentials.
func (c *Config) validateAuth(add func(string, ...any)) {
	if c.Auth == "" {
		c.Auth = AuthNone
		if c.Username != "" {
			c.Auth = AuthPlain
		}
	}
	switch c.Auth {
	case AuthNone:
		if c.Username != "" || c.Password != "" {
			add("Config.Auth is AuthNone but Username or Password is set: choose AuthPlain, AuthLogin or AuthCRAMMD5, or drop the credentials")
		}
	case AuthPlain, AuthLogin, AuthCRAMMD5:
		if c.Username == "" {
			add("Config.Auth is %s but Username is empty: set Username and Password, or use AuthNone", c.Auth)
		}
	default:
		add("Config.Auth is %q: use AuthNone, AuthPlain, AuthLogin or AuthCRAMMD5", string(c.Auth))
	}
	if hasControl(c.Username) {
		add("Config.Username holds a control character: remove it")
	}
	if strings.ContainsAny(c.LocalName, " \t\r\n") {
		add("Config.LocalName %q holds white space: use a host name", c.LocalName)
	}
}

// validateTimeouts fills and checks the timeouts.
func (c *Config) validateTimeouts(add func(string, ...any)) {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.ConnectTimeout < 0 {
		add("Config.ConnectTimeout is %s: use a positive duration, or 0 for %s", c.ConnectTimeout, DefaultConnectTimeout)
	}
	if c.SendTimeout < 0 {
		add("Config.SendTimeout is %s: use a positive duration, or 0 for %s", c.SendTimeout, DefaultSendTimeout)
	}
}

// validatePool fills and checks the connection pool's limits.
func (c *Config) validatePool(add func(string, ...any)) {
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxMessagesPerConnection == 0 {
		c.MaxMessagesPerConnection = DefaultMaxMessagesPerConnection
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnections < 0 {
		add("Config.MaxConnections is %d: use a positive number, or 0 for %d", c.MaxConnections, DefaultMaxConnections)
	}
	if c.MaxMessagesPerConnection < 0 {
		add("Config.MaxMessagesPerConnection is %d: use a positive number (1 for a connection per message), or 0 for %d", c.MaxMessagesPerConnection, DefaultMaxMessagesPerConnection)
	}
	if c.IdleTimeout < 0 {
		add("Config.IdleTimeout is %s: use a positive duration, or 0 for %s", c.IdleTimeout, DefaultIdleTimeout)
	}
}

// validateAddresses checks the sender's and the reply address.
func (c *Config) validateAddresses(add func(string, ...any)) {
	if c.From == "" {
		add("Config.From is empty: set the sender address, such as no-reply@example.com")
	} else if _, err := bareAddress(c.From); err != nil {
		add("Config.From %q: %v: give the address alone and the name in FromName", c.From, err)
	}
	if hasControl(c.FromName) {
		add("Config.FromName holds a line break or another control character: use one line of text")
	}
	if c.ReplyTo != "" {
		if _, err := bareAddress(c.ReplyTo); err != nil {
			add("Config.ReplyTo %q: %v: give one address, such as support@example.com", c.ReplyTo, err)
		}
	}
}

// bareAddress parses an addr-spec ("alice@example.com", optionally in angle
// brackets) and refuses display names, groups, lists and control characters.
func bareAddress(s string) (string, error) {
	if hasControl(s) {
		return "", errors.New("the address holds a line break or another control character")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", errors.New("not a valid email address")
	}
	if a.Name != "" {
		return "", errors.New("a display name is not allowed here")
	}
	return a.Address, nil
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }
