package recovery

import (
	"context"
	"fmt"
	"log/slog"
)

// DeliveryMedium is how a code travels.
type DeliveryMedium string

// Delivery media (Cognito's names).
const (
	Email DeliveryMedium = "EMAIL"
	SMS   DeliveryMedium = "SMS"
)

// Message is one code to deliver. The bodies are rendered already; the code
// is also given on its own for senders that build their own message (Cognito's
// custom sender triggers). Its String, Format and LogValue methods leave the
// code and the bodies out, so logging a Message leaks nothing.
type Message struct {
	// ID identifies the message ("msg_" and 32 hex digits), one per issued
	// code. Senders use it as the idempotency key of their retries (the
	// webhook-id, the Message-ID), so receivers can drop duplicates.
	ID string
	// Pool and ClientID say which pool and app client asked.
	Pool, ClientID string
	// Medium is EMAIL or SMS.
	Medium DeliveryMedium
	// To is the full email address or E.164 phone number.
	To string
	// Username and Sub identify the user.
	Username, Sub string
	// Locale is the language the message was rendered in.
	Locale string
	// Kind is DeliveryCode (the zero value) for a code message, or
	// DeliveryPasswordChanged for the notice after a reset, which has no
	// Code: a sender that builds its own text from Code must check it.
	Kind DeliveryKind
	// Code is the confirmation code itself; empty for a notice.
	Code string
	// Subject is the email subject (empty for SMS).
	Subject string
	// Text is the plain-text body (the SMS text for SMS). It may be empty
	// when a custom-message hook supplied HTML only.
	Text string
	// HTML is the HTML email body (empty for SMS).
	HTML string
	// ClientMetadata is the request's ClientMetadata, for the sender's use.
	ClientMetadata map[string]string
}

// Sender delivers messages. Implementations must be safe for concurrent use
// and should honour ctx's deadline. A nil error means the message was handed
// to the channel (or, for an asynchronous sender, queued). Wrap
// ErrDeliveryUnauthorized or ErrDeliveryForbidden to report a
// misconfiguration; any other error is a failed delivery
// (CodeDeliveryFailureException), after which the engine revokes the code.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// String describes the message without its code or bodies.
func (m Message) String() string {
	return fmt.Sprintf("Message{ID:%s Medium:%s To:%q Username:%q Locale:%q Code:%s}", m.ID, m.Medium, m.To, m.Username, m.Locale, redacted(m.Code))
}

// Format makes every fmt verb print String, so %v, %+v and %#v redact too.
func (m Message) Format(f fmt.State, _ rune) { fmt.Fprint(f, m.String()) }

// LogValue implements slog.LogValuer without the code or bodies.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", m.ID),
		slog.String("medium", string(m.Medium)),
		slog.String("to", m.To),
		slog.String("username", m.Username),
		slog.String("locale", m.Locale),
	)
}
