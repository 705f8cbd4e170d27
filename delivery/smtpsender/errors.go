package smtpsender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/recoverykit/recoverykit/recovery"
)

// Error is a failed Send, after the message was composed. Its text names
// the step, the server and the server's reply; it never holds the code, a
// body or a password.
type Error struct {
	// Op is the step that failed: "connect" (including TLS, AUTH and
	// waiting for a free connection) or "send".
	Op string
	// Addr is the server's host:port.
	Addr string
	// ReplyCode is the SMTP reply code (535, 550, ...), or 0 when the
	// server did not answer (a refused connection, a timeout).
	ReplyCode int
	// EnhancedCode is the RFC 3463 status ("5.7.8") when the reply had one.
	EnhancedCode string

	detail    string
	temporary bool
	wrapped   []error
}

// Error describes the failure.
func (e *Error) Error() string {
	return "smtpsender: " + e.Op + " " + e.Addr + ": " + e.detail
}

// Unwrap returns what the error wraps: recovery.ErrDeliveryUnauthorized or
// recovery.ErrDeliveryForbidden for a misconfiguration, the context's error
// when the context ended the Send, and the network or TLS error when no
// SMTP reply was involved.
func (e *Error) Unwrap() []error { return e.wrapped }

// Temporary reports whether the same message may go through later: a 4xx
// reply, a timeout or a lost connection. Authentication failures, 5xx
// replies and certificate errors are not temporary; nor is a connection
// lost after the whole message went, as the server may have accepted it
// and sending it again could deliver it twice.
func (e *Error) Temporary() bool { return e.temporary }

var enhancedCode = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// fail turns a go-mail or transaction error into an *Error: the one place
// that reads them. code is scrubbed from the server's text in case a
// server echoes what it received.
func (s *Sender) fail(ctx context.Context, op string, err error, code string) error {
	e := &Error{Op: op, Addr: s.addr, detail: err.Error()}
	if code != "" {
		e.detail = strings.ReplaceAll(e.detail, code, "[redacted]")
	}

	var reply *textproto.Error
	if errors.As(err, &reply) {
		e.ReplyCode = reply.Code
	}
	st := failedAt(err)
	if e.ReplyCode != 0 {
		e.EnhancedCode = enhancedCode.FindString(e.detail)
	}

	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The connection's deadline is the context's and may fire a
		// moment before the context's own timer does.
		<-ctx.Done()
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		// The context ended the Send: whatever the connection reported
		// (an i/o timeout, a reset) is a consequence.
		e.detail = "stopped: " + context.Cause(ctx).Error()
		e.temporary = true
		e.wrapped = append(e.wrapped, ctx.Err())
	case op == "connect" && authFailed(err, e.ReplyCode):
		e.wrapped = append(e.wrapped, recovery.ErrDeliveryUnauthorized)
	case st == stepMail && e.ReplyCode == 530:
		// "Authentication required": the server wants credentials.
		e.wrapped = append(e.wrapped, recovery.ErrDeliveryUnauthorized)
	case st == stepMail && senderRefused(e.ReplyCode, e.EnhancedCode):
		e.wrapped = append(e.wrapped, recovery.ErrDeliveryForbidden)
	case e.ReplyCode != 0:
		e.temporary = e.ReplyCode/100 == 4
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		// The server's certificate is not trusted: that will not change
		// by itself.
		e.wrapped = append(e.wrapped, err)
	case st == stepDataEnd:
		// The connection broke after the whole message went: the server
		// may have it. Not temporary, so that no one sends it twice.
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// No SMTP reply was involved, so the text is the network's and
		// the error is safe to keep.
		e.temporary = true
		e.wrapped = append(e.wrapped, err)
	}
	// Anything else is go-mail refusing to go on, such as a server without
	// STARTTLS when it is required: permanent.
	return e
}

// authFailed reports whether a connect error is the server refusing the
// credentials, or the configured mechanism being unusable: both are
// configuration problems, not one failed delivery.
func authFailed(err error, replyCode int) bool {
	switch replyCode {
	case 530, 534, 535, 538:
		return true
	}
	return errors.Is(err, smtp.ErrUnencrypted) || errors.Is(err, smtp.ErrWrongHostname) ||
		errors.Is(err, mail.ErrPlainAuthNotSupported) || errors.Is(err, mail.ErrLoginAuthNotSupported) ||
		errors.Is(err, mail.ErrCramMD5AuthNotSupported) ||
		strings.Contains(err.Error(), "server does not support SMTP AUTH")
}

// senderRefused reports a MAIL FROM refusal that is clearly about the
// sender's permission: a permanent refusal with a 5.7.x (security or
// policy) status, such as Postfix's "553 5.7.1 Sender address rejected:
// not owned by user".
func senderRefused(replyCode int, enhanced string) bool {
	switch replyCode {
	case 550, 553, 554:
		return strings.HasPrefix(enhanced, "5.7.")
	}
	return false
}
