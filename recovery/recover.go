package recovery

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func (e *Engine) recover(ctx context.Context, c *call, req *RecoverRequest) (CodeDeliveryDetails, error) {
	if err := validateRecover(req); err != nil {
		return CodeDeliveryDetails{}, err
	}
	client, err := e.admit(ctx, c, req.ClientID, req.SecretHash, req.Username, req.SourceIP, req.UserContextData, req.ClientMetadata)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	hide := !client.RevealUserExistence
	folded := FoldIdentifier(req.Username)
	t, code, hash, err := e.targetIssued(ctx, c, req, folded, hide)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	if t.refusal != nil {
		if !hide {
			return CodeDeliveryDetails{}, t.refusal
		}
		c.simulated = t.refusal
		// The outbox gets a decoy, so that this request does what a real
		// one does; whether it takes it is nobody's business.
		_ = e.outbox.Put(ctx, e.decoy(c, req))
		return e.simulatedDetails(folded), nil
	}
	c.medium = t.dest.medium
	answer := details(t.dest.medium, t.dest.to)
	if t.migrated != nil && t.migrated.MessageAction == "SUPPRESS" {
		return answer, nil
	}
	if err := e.dispatch(ctx, c, req, t, code, hash, hide); err != nil {
		return CodeDeliveryDetails{}, err
	}
	return answer, nil
}

// targetIssued finds who a Recover charges and issues the code: in one
// store call with a CodeIssuingFinder, else by target and then issue.
// Every path makes the same single Issue call, so a simulated answer costs
// the store what a real one does and hits the budget at the same point.
func (e *Engine) targetIssued(ctx context.Context, c *call, req *RecoverRequest, folded string, hide bool) (target, string, KeyedHash, error) {
	if e.findIssuer != nil {
		return e.findIssuing(ctx, c, req, folded, hide)
	}
	t, err := e.target(ctx, c, req, folded, hide)
	if err != nil {
		return t, "", KeyedHash{}, err
	}
	code, hash, err := e.issue(ctx, c, t)
	return t, code, hash, err
}

// target is who a Recover charges and where the code goes.
type target struct {
	user     User
	key      string // the code store's key: the user's, or a pseudonym
	dest     destination
	refusal  error         // why no code can be sent; nil when one can
	migrated *MigratedUser // the migration hook's answer, if it made the user
}

// target looks the identifier up (migrating an unknown user when a hook is
// set) and decides who is charged and whether a code can go out.
func (e *Engine) target(ctx context.Context, c *call, req *RecoverRequest, folded string, hide bool) (target, error) {
	var t target
	user, found, err := e.lookup(ctx, req.Username, folded)
	if err != nil {
		return t, err
	}
	if !found && e.hooks.UserMigration != nil {
		if user, t.migrated, found, err = e.migrate(ctx, req, folded); err != nil {
			return t, err
		}
	}
	if !found {
		if !hide {
			return t, ErrUserNotFound
		}
		t.key, t.refusal = pseudonym(e.pseudoKey, e.pool, folded), ErrUserNotFound
		return t, nil
	}
	c.sub = user.Sub
	t.user, t.key = user, UserKey(user.Sub)
	if t.refusal = stateError(user, OpForgotPassword); t.refusal == nil {
		var only []DeliveryMedium
		if t.migrated != nil {
			only = t.migrated.DesiredDeliveryMediums
		}
		var bad error
		if t.dest, t.refusal, bad = e.chooseChannel(user, only, folded); bad != nil {
			return t, bad
		}
	}
	return t, nil
}

// issue makes a code and stores its hash (one that no code can match when
// none may be sent), charging the budget.
func (e *Engine) issue(ctx context.Context, c *call, t target) (string, KeyedHash, error) {
	code, err := newCode(e.rand, e.policy.CodeDigits)
	if err != nil {
		return "", KeyedHash{}, internalError(err)
	}
	label := labelCode
	if t.refusal != nil {
		label = labelUnusableIssue
	}
	hash := e.keys[0].hash(label, e.pool, t.key, code)
	out, err := e.codes.Issue(ctx, IssueParams{
		Pool: e.pool, UserKey: t.key, Code: hash,
		ExpiresAt: c.now.Add(e.policy.CodeLifetime), Now: c.now, Limits: e.limits,
	})
	if err != nil {
		return "", KeyedHash{}, internalError(fmt.Errorf("code store: %w", err))
	}
	if err := e.issued(e.codes, out); err != nil {
		return "", KeyedHash{}, err
	}
	return code, hash, nil
}

// dispatch hands a real user's code to delivery: to the outbox for a
// client that hides user existence (a failure goes to the log and the
// Observer, never to the caller, whose answer must not differ from a
// simulated one), during the request for one that reveals it (a failure is
// the caller's error, and the undelivered code is revoked).
func (e *Engine) dispatch(ctx context.Context, c *call, req *RecoverRequest, t target, code string, hash KeyedHash, hide bool) error {
	d, err := e.newDelivery(c, req, t.user, t.dest, code, hash.KeyID)
	if err != nil {
		return err
	}
	if hide {
		if err := e.outbox.Put(ctx, d); err != nil {
			e.undelivered(ctx, d, err)
		}
		return nil
	}
	if err := e.Deliver(ctx, d); err != nil {
		e.observe(ctx, c, EventDeliveryFailed, err)
		e.revokeUndelivered(ctx, t.key, hash)
		return err
	}
	return nil
}

// stateError is the answer, for a client that reveals user existence, for
// a user whose state forbids a reset, or nil: a disabled user is
// NotAuthorized, an UNCONFIRMED one has no verified channel (ForgotPassword)
// or is UserNotConfirmed (ConfirmForgotPassword), CONFIRMED and
// RESET_REQUIRED users may reset, and every other status
// (FORCE_CHANGE_PASSWORD, EXTERNAL_PROVIDER) is NotAuthorized.
func stateError(u User, op Operation) error {
	switch {
	case u.Disabled:
		return newError(ErrNotAuthorized, "User is disabled.")
	case u.Status == StatusConfirmed || u.Status == StatusResetRequired || u.Status == "":
		return nil
	case u.Status == StatusUnconfirmed && op == OpForgotPassword:
		return errNoChannel
	case u.Status == StatusUnconfirmed:
		return ErrUserNotConfirmed
	}
	return newError(ErrNotAuthorized, "User password cannot be reset in the current state.")
}

var errNoChannel = newError(ErrInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number")

// destination is where a code goes.
type destination struct {
	medium DeliveryMedium
	to     string
}

// chooseChannel applies the AccountRecoverySetting: the first mechanism
// whose attribute is verified and whose medium is not the user's MFA
// factor (and, for a migrated user, is among only when only is set). With
// Simulation.ChannelFromIdentifier, the channel the identifier names comes
// first when it is such an attribute of the user. It answers errNoChannel
// when none is usable, and (as bad) an internal error when a verified flag
// is neither true nor false, rather than read it as one.
func (e *Engine) chooseChannel(u User, only []DeliveryMedium, folded string) (_ destination, refusal, bad error) {
	usable := func(m DeliveryMedium) (string, bool) {
		attr, flag, mfa := AttrEmail, AttrEmailVerified, u.EmailMFA
		if m == SMS {
			attr, flag, mfa = AttrPhoneNumber, AttrPhoneNumberVerified, u.SMSMFA
		}
		verified, err := parseVerified(flag, u.Attributes[flag])
		if err != nil && bad == nil {
			bad = internalError(fmt.Errorf("user store: %T returned user %s with %w", e.users, u.Sub, err))
		}
		to := u.Attributes[attr]
		return to, to != "" && verified && !mfa && (len(only) == 0 || slices.Contains(only, m))
	}
	if named := shapeOf(folded).medium(); named != "" && e.sim.ChannelFromIdentifier && e.uses(named) {
		if to, ok := usable(named); ok && FoldIdentifier(to) == folded {
			return destination{named, to}, nil, nil
		}
	}
	for _, m := range e.mechanisms {
		if to, ok := usable(mechanismMedium(m)); ok {
			return destination{mechanismMedium(m), to}, nil, nil
		}
	}
	if bad != nil {
		return destination{}, nil, bad
	}
	return destination{}, errNoChannel, nil
}

// parseVerified reads a verified flag: "true" or "false" in any case, "1"
// or "0", or absent (unverified). Anything else is an error naming the
// attribute: a store that writes "yes" must hear of it, not have every
// user silently get no code.
func parseVerified(attr, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil || (len(v) > 1 && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false")) {
		return false, fmt.Errorf("%s = %q: a verified flag must be \"true\" or \"false\"", attr, v)
	}
	return b, nil
}
