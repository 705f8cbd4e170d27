package recovery

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Deliver composes d's message and sends it through Config.Sender: the
// custom-message hook, if any, rewrites the template of the user's locale,
// the template is rendered with the code, and the Sender gets the Message.
// An Outbox's workers call it; for a client that reveals user existence,
// Recover calls it during the request. A password-changed notice
// (DeliveryPasswordChanged) goes the same way, from its own texts and
// without a code.
//
// A decoy is dropped at once, and so is a delivery whose code has expired
// (a late message would only confuse), or a notice older than
// NoticeLifetime; these return nil. A delivery that waited longer than
// StaleDelivery is also dropped when the CodeStore (a CodeInspector) says
// its code is no longer the user's current one. Errors are the *Error
// values Recover would answer with (a hook failure, a
// CodeDeliveryFailureException wrapping the sender's error); Retryable
// tells whether another attempt may succeed.
func (e *Engine) Deliver(ctx context.Context, d Delivery) error {
	if d.Decoy {
		return nil
	}
	if d.Pool != e.pool {
		return internalError(fmt.Errorf("recovery: a delivery of pool %q reached the engine of pool %q: give each engine its own outbox", d.Pool, e.pool))
	}
	notice := d.Kind == DeliveryPasswordChanged
	if !notice && d.Kind != DeliveryCode {
		return internalError(fmt.Errorf("recovery: delivery %s is of kind %q, which this version does not know: upgrade every process that shares the outbox", d.ID, d.Kind))
	}
	switch {
	case !e.now().Before(d.ExpiresAt) && notice:
		e.noticeExpired(ctx, d)
		return nil
	case !e.now().Before(d.ExpiresAt):
		e.log.LogAttrs(ctx, slog.LevelInfo, "recovery: delivery dropped, its code expired before it could be sent",
			slog.String("pool", e.pool), slog.String("sub", d.Sub), slog.String("message_id", d.ID))
		e.observeDelivery(ctx, d, EventDeliveryExpired, nil)
		return nil
	case !notice && e.superseded(ctx, d):
		return nil
	}
	m, err := e.compose(ctx, d)
	if err != nil {
		return err
	}
	if err := e.sender.Send(ctx, m); err != nil {
		return deliveryError(d.Medium, scrub(err, d.Code))
	}
	e.observeDelivery(ctx, d, EventDelivered, nil)
	return nil
}

// StaleDelivery is how long a delivery may wait before Deliver checks that
// its code is still current: one sent sooner goes out without the extra
// store call, since in that time a newer code is rare and the user holds
// both messages anyway.
const StaleDelivery = 5 * time.Second

// superseded reports, for a delivery that waited past StaleDelivery,
// whether the code store says its code is no longer current; the delivery
// is then dropped. When the store cannot tell, the message is sent: it
// holds the user's own code, which Confirm checks anyway.
func (e *Engine) superseded(ctx context.Context, d Delivery) bool {
	if e.inspector == nil || e.now().Sub(d.IssuedAt) < StaleDelivery {
		return false
	}
	hash, ok := e.deliveryHash(d)
	if !ok {
		return false // its key was retired: nothing can tell, and nothing can confirm it either
	}
	current, err := e.inspector.Outstanding(ctx, e.pool, UserKey(d.Sub), hash, e.now())
	if err != nil {
		e.logLimited(ctx, slog.LevelWarn, "recovery: could not tell whether a delayed code is still current; sending it", "",
			slog.String("pool", e.pool), slog.String("message_id", d.ID), slog.String("error", scrub(err, d.Code).Error()))
		return false
	}
	if !current {
		e.log.LogAttrs(ctx, slog.LevelInfo, "recovery: delivery dropped, its code was replaced, used or revoked before it could be sent",
			slog.String("pool", e.pool), slog.String("sub", d.Sub), slog.String("message_id", d.ID))
		e.observeDelivery(ctx, d, EventDeliverySuperseded, nil)
	}
	return !current
}

// deliveryHash is the keyed hash the code store holds for d's code, under
// the key that hashed it; false when that key is no longer configured.
func (e *Engine) deliveryHash(d Delivery) (KeyedHash, bool) {
	key := UserKey(d.Sub)
	for _, k := range e.keys {
		switch d.KeyID {
		case k.id:
			return k.hash(labelCode, e.pool, key, d.Code), true
		case boundKeyID(k.id): // issued by a CodeIssuingFinder
			return BoundCode(k.poolCode(labelCodePool, e.pool, d.Code), key), true
		}
	}
	return KeyedHash{}, false
}

// Abandon reports a delivery that will not be made: the code is revoked
// (nobody received it, and it must not linger), and the failure goes to
// the Observer (EventDeliveryFailed) and the log, without the code. A
// notice has no code to revoke; its failure is EventNoticeFailed.
func (e *Engine) Abandon(ctx context.Context, d Delivery, err error) {
	if d.Decoy {
		return
	}
	err = scrub(err, d.Code)
	if hash, ok := e.deliveryHash(d); ok && d.Kind == DeliveryCode {
		if rerr := e.codes.Revoke(ctx, e.pool, UserKey(d.Sub), hash); rerr != nil {
			// Nobody knows the code, so it does no harm until it expires.
			e.logLimited(ctx, slog.LevelError, "recovery: revoking an undelivered code failed", "",
				slog.String("pool", e.pool), slog.String("sub", d.Sub), slog.String("error", rerr.Error()))
		}
	}
	e.undelivered(ctx, d, err)
}

// undelivered reports a delivery that failed, to the log and the Observer.
func (e *Engine) undelivered(ctx context.Context, d Delivery, err error) {
	msg := "recovery: delivery failed"
	if d.Kind == DeliveryPasswordChanged {
		msg = "recovery: password-changed notice failed"
	}
	e.logLimited(ctx, slog.LevelWarn, msg, string(d.Medium),
		slog.String("pool", e.pool), slog.String("client_id", d.ClientID), slog.String("sub", d.Sub),
		slog.String("medium", string(d.Medium)), slog.String("message_id", d.ID), slog.String("error", err.Error()))
	e.observeDelivery(ctx, d, EventDeliveryFailed, err)
}

// newDelivery is what Recover hands to delivery for a user who gets a
// code; keyID is the key ID of the code's stored hash.
func (e *Engine) newDelivery(c *call, req *RecoverRequest, u User, dest destination, code, keyID string) (Delivery, error) {
	id, err := newMessageID(e.rand)
	if err != nil {
		return Delivery{}, internalError(err)
	}
	return Delivery{
		ID: id, Pool: e.pool, ClientID: req.ClientID, Medium: dest.medium, To: dest.to,
		Username: u.Username, Sub: u.Sub, Attributes: u.Attributes, Code: code, KeyID: keyID,
		IssuedAt: c.now, ExpiresAt: c.now.Add(e.policy.CodeLifetime), ClientMetadata: req.ClientMetadata,
	}, nil
}

// decoy is what Recover hands to the outbox for a request that sends
// nothing: built the same way, with nothing in it.
func (e *Engine) decoy(c *call, req *RecoverRequest) Delivery {
	id, _ := newMessageID(e.rand) // a decoy's ID is never used
	return Delivery{ID: id, Pool: e.pool, ClientID: req.ClientID, IssuedAt: c.now, ExpiresAt: c.now.Add(e.policy.CodeLifetime), Decoy: true}
}

// compose renders d's message, through the custom-message hook when one is
// configured: a code from the code texts, a notice from the
// PasswordChanged texts, with its own trigger source and no code.
func (e *Engine) compose(ctx context.Context, d Delivery) (Message, error) {
	locale, t := e.templates.pick(d.ClientMetadata["locale"], d.Attributes[AttrLocale])
	trigger, codeParam, linkParam := TriggerCustomMessage, CodePlaceholder, ""
	if e.linkBase != nil {
		linkParam = LinkPlaceholder
	}
	if d.Kind == DeliveryPasswordChanged {
		t, trigger, codeParam, linkParam = t.passwordChanged(), TriggerCustomMessagePasswordChanged, "", ""
	}
	if e.hooks.CustomMessage != nil {
		ev := CustomMessageEvent{
			HookContext:       HookContext{TriggerSource: trigger, PoolID: e.pool, ClientID: d.ClientID, Username: d.Username, ClientMetadata: d.ClientMetadata},
			UserAttributes:    withSub(d.Attributes, d.Sub),
			CodeParameter:     codeParam,
			LinkParameter:     linkParam,
			UsernameParameter: UsernamePlaceholder,
			Medium:            d.Medium,
			Locale:            locale,
		}
		cm, err := callHook(ctx, e.hooks.Timeout, trigger, func(ctx context.Context) (CustomMessage, error) {
			return e.hooks.CustomMessage.CustomMessage(ctx, ev)
		})
		if err != nil {
			return Message{}, err
		}
		if t, err = applyCustomMessage(t, cm, d.Medium, trigger, linkParam != ""); err != nil {
			return Message{}, err
		}
	}
	m := Message{
		ID: d.ID, Pool: e.pool, ClientID: d.ClientID, Medium: d.Medium, To: d.To,
		Username: d.Username, Sub: d.Sub, Locale: locale, Kind: d.Kind, Code: d.Code,
		ClientMetadata: d.ClientMetadata,
	}
	l := renderLink(e.linkBase, d.Username, d.Code)
	if d.Medium == SMS {
		m.Text = render(t.SMS, d.Code, l.raw, d.Username, false)
	} else {
		// A username from a store or a migration may hold line breaks,
		// which must not become header lines.
		m.Subject = oneLine(render(t.EmailSubject, "", "", d.Username, false))
		m.Text = render(t.EmailText, d.Code, l.raw, d.Username, false)
		m.HTML = render(t.EmailHTML, d.Code, l.html, d.Username, true)
	}
	return m, nil
}

// newMessageID returns "msg_" and 32 random hex digits.
func newMessageID(r io.Reader) (string, error) {
	b := randomBuffers.Get().(*[32]byte)
	defer randomBuffers.Put(b)
	if _, err := io.ReadFull(r, b[:16]); err != nil {
		return "", fmt.Errorf("recovery: reading randomness: %w", err)
	}
	var id [4 + 32]byte
	copy(id[:], "msg_")
	hex.Encode(id[4:], b[:16])
	return string(id[:]), nil
}

// applyCustomMessage checks a custom-message hook's output and lays it over
// the template. Cognito's emailMessage is HTML, so it replaces both bodies:
// the HTML one with it, the text one is dropped. A code message must hold
// the code placeholder (or, withLink, the link one); a notice (trigger
// TriggerCustomMessagePasswordChanged) must hold neither.
func applyCustomMessage(t Template, cm CustomMessage, medium DeliveryMedium, trigger string, withLink bool) (Template, error) {
	notice := trigger == TriggerCustomMessagePasswordChanged
	check := func(name, msg string, max int) error {
		switch {
		case notice && containsCode(msg, true):
			return invalidHookResponse(trigger, name+" holds {####} or {link}, but this message carries no code")
		case !notice && !withLink && strings.Contains(msg, LinkPlaceholder):
			return invalidHookResponse(trigger, name+" uses {link}, but the pool has no link base URL")
		case !notice && !containsCode(msg, withLink):
			return invalidHookResponse(trigger, name+" lacks the code placeholder {####}")
		case runeLen(msg) > max:
			return invalidHookResponse(trigger, fmt.Sprintf("%s is longer than %d characters", name, max))
		}
		return nil
	}
	if medium == SMS && cm.SMSMessage != "" {
		if err := check("smsMessage", cm.SMSMessage, maxSMSMessage); err != nil {
			return t, err
		}
		t.SMS = cm.SMSMessage
	}
	if medium == Email {
		if cm.EmailMessage != "" {
			if err := check("emailMessage", cm.EmailMessage, maxEmailMessage); err != nil {
				return t, err
			}
			t.EmailHTML, t.EmailText = cm.EmailMessage, ""
		}
		if cm.EmailSubject != "" {
			if containsCode(cm.EmailSubject, true) || hasLineBreak(cm.EmailSubject) || runeLen(cm.EmailSubject) > 140 {
				return t, invalidHookResponse(trigger, "emailSubject holds the code or link placeholder, a line break, or more than 140 characters")
			}
			t.EmailSubject = cm.EmailSubject
		}
	}
	return t, nil
}

// deliveryError maps a Sender's error to the Cognito name for its medium.
func deliveryError(medium DeliveryMedium, err error) error {
	kind := ErrCodeDeliveryFailure
	switch {
	case medium == SMS && errors.Is(err, ErrDeliveryUnauthorized):
		kind = ErrInvalidSmsRoleTrustRelationship
	case medium == SMS && errors.Is(err, ErrDeliveryForbidden):
		kind = ErrInvalidSmsRoleAccessPolicy
	case medium == Email && (errors.Is(err, ErrDeliveryUnauthorized) || errors.Is(err, ErrDeliveryForbidden)):
		kind = ErrInvalidEmailRoleAccessPolicy
	}
	return wrapError(kind, err)
}

// scrub returns err with its text cleared of code, in case a sender or a
// hook put it there; errors.Is and errors.As still see err.
func scrub(err error, code string) error {
	if err == nil || code == "" || !strings.Contains(err.Error(), code) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), code, "[redacted]"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// withSub returns the attributes the hooks see: the user's, with "sub".
func withSub(attrs map[string]string, sub string) map[string]string {
	out := make(map[string]string, len(attrs)+1)
	for k, v := range attrs {
		out[k] = v
	}
	out["sub"] = sub
	return out
}
