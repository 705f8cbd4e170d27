package recovery

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	user, found, err := e.lookup(ctx, req.Username, folded)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	var migrated *MigratedUser
	if !found && e.hooks.UserMigration != nil {
		user, migrated, found, err = e.migrate(ctx, req, folded)
		if err != nil {
			return CodeDeliveryDetails{}, err
		}
	}

	// Decide who is charged and whether a code can go out. Every path from
	// here makes the same single Issue call, so a simulated answer costs the
	// store what a real one does and hits the budget at the same point.
	var (
		key     string
		dest    destination
		refusal error // why no code can be sent; nil when one can
	)
	if found {
		c.sub = user.Sub
		key = UserKey(user.Sub)
		if refusal = stateError(user, OpForgotPassword); refusal == nil {
			var only []DeliveryMedium
			if migrated != nil {
				only = migrated.DesiredDeliveryMediums
			}
			dest, refusal = e.chooseChannel(user, only, folded)
		}
	} else {
		if !hide {
			return CodeDeliveryDetails{}, ErrUserNotFound
		}
		key = pseudonym(e.pseudoKey, e.pool, folded)
		refusal = ErrUserNotFound
	}

	code, err := newCode(e.rand, e.policy.CodeDigits)
	if err != nil {
		return CodeDeliveryDetails{}, internalError(err)
	}
	label := labelCode
	if refusal != nil {
		label = labelUnusableIssue
	}
	hash := e.keys[0].hash(label, e.pool, key, code)
	out, err := e.codes.Issue(ctx, IssueParams{
		Pool: e.pool, UserKey: key, Code: hash,
		ExpiresAt: c.now.Add(e.policy.CodeLifetime), Now: c.now, Limits: e.limits,
	})
	if err != nil {
		return CodeDeliveryDetails{}, internalError(fmt.Errorf("code store: %w", err))
	}
	switch out {
	case OutcomeOK:
	case OutcomeLimitExceeded, OutcomeLocked:
		// ForgotPassword has no TooManyFailedAttemptsException in Cognito's
		// API model (SDKs could not decode it as a typed error): a locked
		// user is told the attempt limit is exceeded, which is true.
		return CodeDeliveryDetails{}, ErrLimitExceeded
	default:
		return CodeDeliveryDetails{}, internalError(fmt.Errorf("code store: %T.Issue answered %v", e.codes, out))
	}

	if refusal != nil {
		if !hide {
			return CodeDeliveryDetails{}, refusal
		}
		c.simulated = true
		// The outbox gets a decoy, so that this request does what a real
		// one does; whether it takes it is nobody's business.
		_ = e.outbox.Put(ctx, e.decoy(c, req))
		return e.simulatedDetails(folded), nil
	}

	c.medium = dest.medium
	answer := details(dest.medium, dest.to)
	if migrated != nil && migrated.MessageAction == "SUPPRESS" {
		return answer, nil
	}
	d, err := e.newDelivery(c, req, user, dest, code)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	if hide {
		// A full or broken outbox must not answer differently from a
		// simulated request: the failure goes to the log and the Observer.
		if err := e.outbox.Put(ctx, d); err != nil {
			e.undelivered(ctx, d, err)
		}
		return answer, nil
	}
	if err := e.Deliver(ctx, d); err != nil {
		e.observe(ctx, c, EventDeliveryFailed, err)
		if rerr := e.codes.Revoke(ctx, e.pool, key, hash); rerr != nil {
			// The code was never delivered, so nobody knows it; it expires.
			e.log.LogAttrs(ctx, slog.LevelError, "recovery: revoking an undelivered code failed",
				slog.String("pool", e.pool), slog.String("sub", user.Sub), slog.String("error", rerr.Error()))
		}
		return CodeDeliveryDetails{}, err
	}
	return answer, nil
}

// stateError is the answer, for a client that reveals user existence, for
// a user whose state forbids a reset, or nil: a disabled user is
// NotAuthorized, an UNCONFIRMED one has no verified channel (ForgotPassword)
// or is UserNotConfirmed (ConfirmForgotPassword), CONFIRMED and
// RESET_REQUIRED users may reset, and every other status
// (FORCE_CHANGE_PASSWORD, EXTERNAL_PROVIDER) is NotAuthorized.
func stateError(u User, op Operation) error {
	switch {
	case !u.Enabled:
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
// first when it is such an attribute of the user.
func (e *Engine) chooseChannel(u User, only []DeliveryMedium, folded string) (destination, error) {
	usable := func(m DeliveryMedium) (string, bool) {
		attr, verified, mfa := AttrEmail, AttrEmailVerified, u.EmailMFA
		if m == SMS {
			attr, verified, mfa = AttrPhoneNumber, AttrPhoneNumberVerified, u.SMSMFA
		}
		to := u.Attributes[attr]
		ok := to != "" && u.Attributes[verified] == "true" && !mfa && (len(only) == 0 || slices.Contains(only, m))
		return to, ok
	}
	if named := shapeOf(folded).medium(); named != "" && e.sim.ChannelFromIdentifier && e.uses(named) {
		if to, ok := usable(named); ok && FoldIdentifier(to) == folded {
			return destination{named, to}, nil
		}
	}
	for _, m := range e.mechanisms {
		if to, ok := usable(mechanismMedium(m)); ok {
			return destination{mechanismMedium(m), to}, nil
		}
	}
	return destination{}, errNoChannel
}
