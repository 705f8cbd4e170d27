package recovery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
)

// DeliveryKind says what a Delivery carries.
type DeliveryKind string

// Delivery kinds.
const (
	// DeliveryCode is a confirmation code from Recover. It is the zero
	// value, so that deliveries queued before kinds existed stay codes.
	DeliveryCode DeliveryKind = ""
	// DeliveryPasswordChanged is the notice that the user's password was
	// changed, sent after a successful Confirm. It carries no code.
	DeliveryPasswordChanged DeliveryKind = "password_changed"
)

// name is the kind for logs: "code" for the zero value.
func (k DeliveryKind) name() string {
	if k == DeliveryCode {
		return "code"
	}
	return string(k)
}

// NoticeLifetime is how long a password-changed notice may wait in an
// outbox: one still unsent after it is dropped (EventNoticeFailed), since a
// late "your password was changed" only confuses. It is the default code
// lifetime, so durable outboxes keep a notice's job no longer than a code's.
const NoticeLifetime = DefaultCodeLifetime

// errNoticeExpired is the reason of a notice dropped for waiting too long.
var errNoticeExpired = errors.New("recovery: the notice waited longer than NoticeLifetime and was dropped")

// notifier is the engine's password-changed notice setting, fixed by New.
type notifier struct {
	off   bool
	media []DeliveryMedium // what the sender serves; nil for all
}

func newNotifier(cfg Config) notifier {
	n := notifier{off: cfg.SkipPasswordChangedNotice}
	if r, ok := cfg.Sender.(MediaReporter); ok {
		n.media = r.Media()
	}
	return n
}

// destinations are where a password-changed notice goes: every
// verified channel of the user that the sender serves. Unlike a code, the
// notice also goes to the user's MFA factor: the exclusion keeps one
// channel from both resetting and passing MFA, and a notice unlocks
// nothing, while the owner of a hijacked account most needs to hear of it
// on every channel they still control.
func (n notifier) destinations(u User) []destination {
	var out []destination
	for _, ch := range []struct {
		medium     DeliveryMedium
		attr, flag string
	}{{Email, AttrEmail, AttrEmailVerified}, {SMS, AttrPhoneNumber, AttrPhoneNumberVerified}} {
		to := u.Attributes[ch.attr]
		verified, _ := parseVerified(ch.flag, u.Attributes[ch.flag]) // a malformed flag is no verification
		if to != "" && verified && (n.media == nil || slices.Contains(n.media, ch.medium)) {
			out = append(out, destination{ch.medium, to})
		}
	}
	return out
}

// notifyPasswordChanged tells user, on each verified channel, that the
// password was changed by op (ConfirmForgotPassword, or an admin
// operation): one Delivery per channel, of kind DeliveryPasswordChanged,
// through the Outbox, rendered from the PasswordChanged fields of the
// user's locale (ClientMetadata["locale"], then the locale attribute) and
// the custom-message hook with TriggerCustomMessagePasswordChanged. It
// never fails its caller: the password is changed already, and a notice
// that cannot be queued or sent goes to the log and the Observer
// (EventNoticeFailed). It does nothing when
// Config.SkipPasswordChangedNotice is set.
func (e *Engine) notifyPasswordChanged(ctx context.Context, op Operation, user User, clientID string, clientMetadata map[string]string) {
	if e.notice.off {
		return
	}
	now := e.now()
	for _, dest := range e.notice.destinations(user) {
		id, err := newMessageID(e.rand)
		if err != nil {
			e.logLimited(ctx, slog.LevelError, "recovery: password-changed notice not sent", "",
				slog.String("pool", e.pool), slog.String("sub", user.Sub), slog.String("error", err.Error()))
			return
		}
		d := Delivery{
			ID: id, Kind: DeliveryPasswordChanged, Operation: op, Pool: e.pool, ClientID: clientID,
			Medium: dest.medium, To: dest.to, Username: user.Username, Sub: user.Sub, Attributes: user.Attributes,
			IssuedAt: now, ExpiresAt: now.Add(NoticeLifetime), ClientMetadata: clientMetadata,
		}
		if err := e.outbox.Put(ctx, d); err != nil {
			e.undelivered(ctx, d, err)
		}
	}
}

// noticeEvent is the event kind of a notice for the kind a code would
// report: a notice is either delivered or not.
func noticeEvent(kind EventKind) EventKind {
	if kind == EventDelivered {
		return EventNoticeDelivered
	}
	return EventNoticeFailed
}

// operation is the operation a delivery's events name.
func (d Delivery) operation() Operation {
	if d.Operation != "" {
		return d.Operation
	}
	if d.Kind == DeliveryPasswordChanged {
		return OpConfirmForgotPassword
	}
	return OpForgotPassword
}

// noticeExpired reports a notice dropped for waiting too long.
func (e *Engine) noticeExpired(ctx context.Context, d Delivery) {
	e.logLimited(ctx, slog.LevelWarn, "recovery: password-changed notice dropped, it waited too long", "",
		slog.String("pool", e.pool), slog.String("sub", d.Sub), slog.String("message_id", d.ID))
	e.observeDelivery(ctx, d, EventNoticeFailed, errNoticeExpired)
}
