// Package smtpsender delivers recovery emails through an SMTP server, using
// github.com/wneessen/go-mail for the protocol and MIME.
//
// A Sender keeps up to Config.MaxConnections connections open, each
// upgraded to TLS as Config.TLS says and authenticated, and sends message
// after message on them. A connection is replaced after
// MaxMessagesPerConnection messages and closed after IdleTimeout unused;
// Close says QUIT on them all. A connection the server dropped shows at
// the next message, which then goes on a new connection, once, and only
// while the server cannot have it yet: the Sender never sends a message
// twice. To a server that offers PIPELINING (RFC 2920), as Postfix, Exim
// and the large providers do, MAIL, RCPT and DATA go in one write: a
// message costs two round trips instead of four
// (Config.DisablePipelining turns it off). Envelope addresses go in angle
// brackets, as RFC 5321 requires.
//
// The message is
// multipart/alternative when it has both a text and an HTML body, and a
// single part otherwise; it carries Subject, From, To, Date, Message-ID,
// optional Reply-To and "Auto-Submitted: auto-generated" (RFC 3834, so
// that vacation responders stay quiet). Header values are safe from
// injection: a subject with a line break or another control character, or a
// recipient that is not one plain address, is refused with an error
// wrapping ErrInvalidMessage, never sent as a header line. The engine
// renders every subject on one line, so only a host that calls Send
// directly, with a Message of its own, can meet that error. Non-ASCII
// subjects and names are encoded per RFC 2047.
//
// Errors never contain the code or a body. An authentication failure wraps
// recovery.ErrDeliveryUnauthorized and a refusal of the sender address on
// policy grounds wraps recovery.ErrDeliveryForbidden, so the engine reports
// a misconfiguration rather than a failed delivery; errors.As with *Error
// gives the SMTP reply code.
//
// Only email is supported: an SMS message is refused with
// ErrUnsupportedMedium. Use webhooksender for SMS gateways.
package smtpsender

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"

	mail "github.com/wneessen/go-mail"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Sender = (*Sender)(nil)

// ErrUnsupportedMedium is returned (wrapped) for a message that is not
// email, such as an SMS.
var ErrUnsupportedMedium = errors.New("smtpsender: only EMAIL messages can be sent by SMTP")

// ErrInvalidMessage is wrapped by Send's error for a message that cannot be
// sent as it is: a recipient that is not one plain address, a subject that
// holds a line break or another control character, or no body. Nothing is
// sent, and the error's Temporary reports false: the same message would be
// refused again.
var ErrInvalidMessage = errors.New("smtpsender: the message cannot be sent as it is")

// invalidMessage is the error of a message refused before any connection.
type invalidMessage struct{ detail string }

func invalid(format string, args ...any) error {
	return &invalidMessage{detail: fmt.Sprintf(format, args...)}
}

// Error says what is wrong with the message and how to fix it.
func (e *invalidMessage) Error() string { return "smtpsender: " + e.detail }

// Unwrap returns ErrInvalidMessage.
func (e *invalidMessage) Unwrap() error { return ErrInvalidMessage }

// Temporary reports false: retrying sends the same message.
func (e *invalidMessage) Temporary() bool { return false }

// Sender sends recovery messages by SMTP over a pool of connections (see
// Config.MaxConnections). It is safe for concurrent use. Close it when
// done, so that the server hears QUIT at once; an unclosed Sender's idle
// connections are closed after IdleTimeout.
type Sender struct {
	cfg     Config
	addr    string           // host:port
	tls     *tls.Config      // nil for NoTLS
	from    *netmail.Address // From, with FromName
	replyTo *netmail.Address // nil when none
	pool    pool
}

// New checks cfg and returns a Sender. It does not connect: a wrong host or
// password shows at the first Send. The error lists every problem found,
// each saying what to change.
func New(cfg Config) (*Sender, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	s.pool.slots = make(chan struct{}, cfg.MaxConnections)
	if cfg.TLS != NoTLS {
		if cfg.TLSConfig != nil {
			s.tls = cfg.TLSConfig.Clone()
		} else {
			s.tls = &tls.Config{}
		}
		if s.tls.ServerName == "" {
			s.tls.ServerName = cfg.Host
		}
		if s.tls.MinVersion < tls.VersionTLS12 {
			s.tls.MinVersion = tls.VersionTLS12
		}
	}
	if err := s.parseAddresses(); err != nil {
		return nil, err
	}
	// Check the options once, so that a problem go-mail finds shows here.
	if _, err := mail.NewClient(cfg.Host, s.options(nil)...); err != nil {
		return nil, fmt.Errorf("smtpsender: %w", err)
	}
	return s, nil
}

// parseAddresses parses From and Reply-To once, as go-mail would for
// every message.
func (s *Sender) parseAddresses() error {
	hdr := mail.NewMsg()
	var err error
	if s.cfg.FromName != "" {
		err = hdr.FromFormat(s.cfg.FromName, s.cfg.From)
	} else {
		err = hdr.From(s.cfg.From)
	}
	if err != nil {
		return fmt.Errorf("smtpsender: Config.From and FromName do not make a From header: %w", err)
	}
	s.from = hdr.GetFrom()[0]
	if s.cfg.ReplyTo != "" {
		if err := hdr.ReplyTo(s.cfg.ReplyTo); err != nil {
			return fmt.Errorf("smtpsender: Config.ReplyTo: %w", err)
		}
		s.replyTo = hdr.GetAddrHeader(mail.HeaderReplyTo)[0]
	}
	return nil
}

// options are the go-mail client options for one connection; dial is nil
// only when New checks them.
func (s *Sender) options(dial mail.DialContextFunc) []mail.Option {
	c := s.cfg
	opts := []mail.Option{
		mail.WithPort(c.Port),
		mail.WithTimeout(c.ConnectTimeout),
	}
	if dial != nil {
		opts = append(opts, mail.WithDialContextFunc(dial))
	}
	if c.LocalName != "" {
		opts = append(opts, mail.WithHELO(c.LocalName))
	}
	switch c.TLS {
	case StartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(s.tls))
	case StartTLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic), mail.WithTLSConfig(s.tls))
	case ImplicitTLS:
		// The dialer does the handshake; WithSSL keeps go-mail from
		// attempting STARTTLS inside the TLS connection.
		opts = append(opts, mail.WithSSL(), mail.WithTLSPolicy(mail.NoTLS), mail.WithTLSConfig(s.tls))
	case NoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	switch c.Auth {
	case AuthPlain:
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain))
	case AuthLogin:
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthLogin))
	case AuthCRAMMD5:
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthCramMD5))
	}
	if c.Auth != AuthNone {
		opts = append(opts, mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	return opts
}

// Send delivers m by SMTP within Config.SendTimeout and ctx. A nil error
// means the server accepted the message for delivery.
//
// Send uses an idle pooled connection when there is one, and opens one
// otherwise. When the server has closed a pooled connection unannounced,
// the message goes again, once, on a new connection, but only if the
// server cannot have accepted it yet: a message is never sent twice.
func (s *Sender) Send(ctx context.Context, m recovery.Message) error {
	if m.Medium != recovery.Email {
		return fmt.Errorf("%w: this message is %q; send SMS through an SMS sender such as webhooksender", ErrUnsupportedMedium, m.Medium)
	}
	data, rcpt, err := s.render(m)
	if err != nil {
		return err
	}
	defer bufPool.Put(data)
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "connect", err, m.Code)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()

	// The message is rendered before a connection is taken, so that
	// connections carry messages rather than wait for them.
	if err := s.acquire(ctx); err != nil {
		return s.fail(ctx, "connect", err, m.Code)
	}
	defer s.release()
	c, err := s.take(ctx)
	if err != nil {
		return err
	}
	if c != nil {
		err = s.deliver(ctx, c, rcpt, data.Bytes())
		if err == nil || !redeliverable(ctx, err) {
			return s.sendErr(ctx, err, m.Code)
		}
	}
	if c, err = s.dial(ctx); err != nil {
		return s.fail(ctx, "connect", err, m.Code)
	}
	return s.sendErr(ctx, s.deliver(ctx, c, rcpt, data.Bytes()), m.Code)
}

// bufPool holds buffers for rendered messages.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render composes m and renders it into a buffer from bufPool, and
// returns the envelope recipient.
func (s *Sender) render(m recovery.Message) (*bytes.Buffer, string, error) {
	msg, rcpt, err := s.compose(m)
	if err != nil {
		return nil, "", err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := msg.WriteTo(buf); err != nil {
		bufPool.Put(buf)
		return nil, "", fmt.Errorf("smtpsender: rendering the message: %w", err)
	}
	return buf, rcpt, nil
}

// sendErr is fail for the "send" step, and nil for nil.
func (s *Sender) sendErr(ctx context.Context, err error, code string) error {
	if err == nil {
		return nil
	}
	return s.fail(ctx, "send", err, code)
}

// compose builds the MIME message and returns the envelope recipient. Its
// errors never hold the code or a body.
func (s *Sender) compose(m recovery.Message) (*mail.Msg, string, error) {
	to, err := bareAddress(m.To)
	if err != nil {
		return nil, "", invalid("the recipient address %q is unusable: %v: give one plain address, such as alice@example.com", m.To, err)
	}
	if hasControl(m.Subject) {
		// Not flattened here: the engine renders subjects on one line, so
		// such a subject comes from a caller who should hear of it.
		return nil, "", invalid("the subject holds a line break or another control character: give it as one line of text")
	}
	if m.Text == "" && m.HTML == "" {
		return nil, "", invalid("the message has neither a text nor an HTML body: set Text, HTML or both")
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(&netmail.Address{Address: to}) // bareAddress parsed it
	if s.replyTo != nil {
		msg.ReplyToMailAddress(s.replyTo)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(s.cfg.Now())
	msg.SetMessageIDWithValue(messageID(s.cfg.From))
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	}
	return msg, to, nil
}

// messageID returns a random id at the sender's domain.
func messageID(from string) string {
	var b [16]byte
	rand.Read(b[:])
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = from[i+1:]
	}
	return hex.EncodeToString(b[:]) + "@" + domain
}

// Media implements recovery.MediaReporter: SMTP carries email only, so an
// engine on this Sender alone never names SMS, not even in a simulated
// answer.
func (s *Sender) Media() []recovery.DeliveryMedium { return []recovery.DeliveryMedium{recovery.Email} }
