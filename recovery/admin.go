package recovery

import (
	"context"
	"errors"
	"fmt"
)

// AdminResetRequest is Cognito's AdminResetUserPassword request.
type AdminResetRequest struct {
	// UserPoolID must be the engine's Config.PoolID; another pool is
	// ResourceNotFoundException. Required.
	UserPoolID string
	// Username is the username, a verified alias (email, phone_number,
	// preferred_username) or the user's sub. Required.
	Username string
	// ClientMetadata is passed verbatim to the custom-message hook and is
	// never stored.
	ClientMetadata map[string]string
}

// fieldUserPoolID is Cognito's UserPoolIdType. Its pattern,
// [\w-]+_[0-9a-zA-Z]+, is checked only for its characters: a pool ID of
// ours ("default") need not hold the region prefix.
var fieldUserPoolID = field{"userPoolId", 1, 55, `[\w-]+_[0-9a-zA-Z]+`, func(r rune) bool { return isWordRune(r) || r == '-' }}

func validateAdminReset(r *AdminResetRequest) error {
	var v []Violation
	v = fieldUserPoolID.check(r.UserPoolID, v)
	v = fieldUsername.check(r.Username, v)
	return validationError(v)
}

// AdminResetUserPassword is Cognito's AdminResetUserPassword: an
// administrator makes the user's current password unusable (status
// RESET_REQUIRED) and sends the user a code, which the user redeems with
// ConfirmForgotPassword (Engine.Confirm) for a new password and status
// CONFIRMED. What it relies on, from Cognito's API reference: "Works on
// any user"; the current password is invalidated and a sign-in answers
// PasswordResetRequiredException; the message goes out as for
// ForgotPassword, to a verified email or phone number; "calling this
// action requires developer credentials", so a transport must
// authenticate the caller (cognitohttp refuses it unless Options.Admin is
// set); the custom-message hook is called with ClientMetadata, under the
// trigger source CustomMessage_ForgotPassword (Cognito documents no
// source of its own for this operation); and its error list, which has
// LimitExceededException and no CodeDeliveryFailureException.
//
// The caller is trusted, so nothing is hidden: an unknown user is
// UserNotFoundException ("User does not exist.") whatever the clients'
// RevealUserExistence, and no user-migration hook runs (Cognito's
// migration triggers are for sign-in and ForgotPassword). No app client
// is involved: no secret hash, no per-client or per-IP request limit, no
// RiskCheck hook; hook events and deliveries have an empty ClientID.
//
// By the user's state:
//
//	state                        answer                                       effect
//	disabled (any status)        NotAuthorizedException "User is disabled."   none
//	CONFIRMED (or "")            success                                      RESET_REQUIRED, code sent
//	RESET_REQUIRED               success                                      stays; a new code replaces the old
//	FORCE_CHANGE_PASSWORD        NotAuthorizedException "User password        none
//	UNCONFIRMED                    cannot be reset in the current state."
//	EXTERNAL_PROVIDER
//	no verified email or phone   InvalidParameterException "Cannot reset      none
//	  usable for the pool's        password for the user as there is no
//	  AccountRecovery (as for      registered/verified email or
//	  ForgotPassword)              phone_number"
//
// FORCE_CHANGE_PASSWORD is what Cognito answers (users report that
// message from this operation); UNCONFIRMED and EXTERNAL_PROVIDER get the
// same because Confirm would refuse their code anyway. Cognito's
// reference reads as if a user without a verified channel were set to
// RESET_REQUIRED with no message; here that is refused before anything
// changes, since such a user could never get a code to leave that state.
//
// The code charges the user's request budget like a ForgotPassword (one
// CodeStore.Issue, same limits): the per-user limits are what bound the
// messages a user receives, from any caller. The status is set before the
// code is issued, so that a spent budget (which anyone can cause with
// ForgotPassword requests) cannot keep an administrator from disabling a
// compromised password: the answer is then LimitExceededException saying
// the password was reset and no code sent, and the user can ask for a code
// with ForgotPassword once the budget allows.
//
// The message is composed and sent as ForgotPassword's (templates,
// custom-message hook, Sender), through the Outbox: a delivery failure
// after the request reaches the Observer and the log, as for a client
// that hides user existence (Cognito's error list for this operation has
// no CodeDeliveryFailureException). A delivery the outbox refuses is
// revoked and answered with InternalErrorException (or, from an outbox
// that delivers during Put, such as NewInlineOutbox, the delivery's own
// error). Delivery events name ForgotPassword as their operation.
//
// It needs a UserStore with the PasswordResetRequirer ability, a pool
// whose AccountRecovery is not admin_only, and recovery not disabled
// (Config.RecoveryDisabled): otherwise the user could not redeem the code,
// and the answer is OperationNotEnabledException, before any lookup.
// Observer events and traces name OpAdminResetUserPassword; success is
// EventRequested.
func (e *Engine) AdminResetUserPassword(ctx context.Context, req AdminResetRequest) error {
	var c call
	ctx = e.begin(ctx, &c, OpAdminResetUserPassword, "", nil)
	return e.finish(ctx, &c, e.adminReset(ctx, &c, &req))
}

// errAdminUserNotFound is Cognito's answer to an admin operation on an
// unknown user.
var errAdminUserNotFound = newError(ErrUserNotFound, "User does not exist.")

func (e *Engine) adminReset(ctx context.Context, c *call, req *AdminResetRequest) error {
	if err := validateAdminReset(req); err != nil {
		return err
	}
	if req.UserPoolID != e.pool {
		return newError(ErrResourceNotFound, fmt.Sprintf("User pool %s does not exist.", req.UserPoolID))
	}
	if err := e.adminResetEnabled(); err != nil {
		return err
	}
	folded := FoldIdentifier(req.Username)
	user, found, err := e.lookup(ctx, req.Username, folded)
	if err != nil {
		return err
	}
	if !found {
		return errAdminUserNotFound
	}
	c.sub = user.Sub
	if err := adminStateError(user); err != nil {
		return err
	}
	dest, refusal, bad := e.chooseChannel(user, nil, folded)
	if err := errors.Join(bad, refusal); err != nil {
		return err
	}
	c.medium = dest.medium
	if err := e.resetter.RequirePasswordReset(ctx, e.pool, user.Sub); err != nil {
		if errors.Is(err, ErrUserNotFound) {
			return errAdminUserNotFound // deleted since the lookup
		}
		return internalError(fmt.Errorf("user store: %w", err))
	}
	// The password no longer signs in, whatever happens to the code: the
	// user hears of it on every verified channel, after the code is queued.
	defer e.notifyPasswordChanged(ctx, OpAdminResetUserPassword, user, "", req.ClientMetadata)
	code, hash, err := e.issue(ctx, c, target{user: user, key: UserKey(user.Sub), dest: dest})
	if errors.Is(err, ErrLimitExceeded) {
		return newError(ErrLimitExceeded, "The user's password was reset, but no code was sent: the user's attempt limit is exceeded. "+
			"The user can request a code with ForgotPassword later.")
	}
	if err != nil {
		return err
	}
	d, err := e.newDelivery(c, &RecoverRequest{ClientMetadata: req.ClientMetadata}, user, dest, code, hash.KeyID)
	if err != nil {
		return err
	}
	d.Operation = OpAdminResetUserPassword
	if err := e.outbox.Put(ctx, d); err != nil {
		e.Abandon(ctx, d, err)
		var ae *Error
		if errors.As(err, &ae) {
			return ae // a hook's or the sender's answer, from an outbox that delivers in Put
		}
		return internalError(fmt.Errorf("outbox: %w", scrub(err, code)))
	}
	return nil
}

// adminResetEnabled answers OperationNotEnabledException when the engine
// could not complete an admin reset.
func (e *Engine) adminResetEnabled() error {
	notEnabled := func(msg string, cause error) error {
		return &Error{Name: OperationNotEnabledException, Message: msg, cause: cause}
	}
	switch {
	case e.resetter == nil:
		return notEnabled("AdminResetUserPassword is not enabled: the user store cannot require a password reset.",
			fmt.Errorf("recovery: %T does not implement recovery.PasswordResetRequirer", e.users))
	case e.disabled:
		return ErrOperationNotEnabled
	case e.adminOnly:
		return notEnabled("AdminResetUserPassword needs self-service account recovery: the user pool's AccountRecovery is admin_only.", nil)
	}
	return nil
}

// adminStateError is AdminResetUserPassword's answer for a user whose
// state forbids it, or nil (see the table on AdminResetUserPassword).
func adminStateError(u User) error {
	switch {
	case u.Disabled:
		return newError(ErrNotAuthorized, "User is disabled.")
	case u.Status == StatusConfirmed || u.Status == StatusResetRequired || u.Status == "":
		return nil
	}
	return newError(ErrNotAuthorized, "User password cannot be reset in the current state.")
}
