package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

func (e *Engine) confirm(ctx context.Context, c *call, req *ConfirmRequest) error {
	if err := validateConfirm(req); err != nil {
		return err
	}
	client, err := e.admit(ctx, c, req.ClientID, req.SecretHash, req.Username, req.SourceIP, req.UserContextData, req.ClientMetadata)
	if err != nil {
		return err
	}
	user, key, usable, err := e.confirmTarget(ctx, c, req.Username, !client.RevealUserExistence)
	if err != nil {
		return err
	}
	// Everything that can refuse the new password is decided before the
	// code is touched, so a refused password consumes nothing: the policy
	// and the hasher's limit here, the history after the code matched.
	// The code is consumed by the first check only when nothing can refuse
	// the password any more and no store can consume it together with the
	// password change.
	weak, err := e.checkPassword(ctx, req.Password)
	if err != nil {
		return err // the screen failed: nothing was touched, the code stays usable
	}
	checkHistory := e.passwords.HistorySize > 0
	consumeNow := weak == nil && !checkHistory && e.atomicSet == nil
	// The store sees the same call whether or not the code is usable.
	out, cands, err := e.checkCode(ctx, c, key, req.ConfirmationCode, usable, consumeNow)
	switch {
	case err != nil:
		return err
	case out != OutcomeOK:
		return outcomeError(out, e.policy.Cooldown)
	case !usable:
		return ErrCodeMismatch // unreachable: unusable hashes never match
	case weak != nil:
		return weak
	}
	if checkHistory {
		if err := e.checkHistory(ctx, user.Sub, req.Password); err != nil {
			return err
		}
	}
	if !consumeNow && e.atomicSet == nil {
		// The code matched without being consumed; consume it now. A
		// concurrent confirm may have won in between: then this one fails.
		if out, _, err = e.checkCode(ctx, c, key, req.ConfirmationCode, true, true); err != nil {
			return err
		}
		if out != OutcomeOK {
			return outcomeError(out, e.policy.Cooldown)
		}
	}
	if err := e.setPassword(ctx, c, user, key, cands, req.Password); err != nil {
		return err
	}
	// The change stands from here: the notice goes out whatever the
	// PostConfirmation hook answers, and cannot fail the request.
	e.notifyPasswordChanged(ctx, OpConfirmForgotPassword, user, req.ClientID, req.ClientMetadata)
	return e.postConfirm(ctx, req, user)
}

// confirmTarget finds the user a Confirm is for and the code-store key it
// checks. usable is false where no code may succeed: an unknown identifier,
// or a user who may not reset, for a client that hides user existence. The
// check still runs, with hashes that cannot match, so the answer
// (CodeMismatch, or ExpiredCode when nothing was issued) and the store's
// work are those of a real user.
func (e *Engine) confirmTarget(ctx context.Context, c *call, identifier string, hide bool) (user User, key string, usable bool, err error) {
	folded := FoldIdentifier(identifier)
	user, found, err := e.lookup(ctx, identifier, folded)
	switch {
	case err != nil:
		return User{}, "", false, err
	case !found && !hide:
		return User{}, "", false, ErrUserNotFound
	case !found:
		return User{}, pseudonym(e.pseudoKey, e.pool, folded), false, nil
	}
	c.sub = user.Sub
	if err := stateError(user, OpConfirmForgotPassword); err != nil {
		if !hide {
			return User{}, "", false, err
		}
		return user, UserKey(user.Sub), false, nil
	}
	return user, UserKey(user.Sub), true, nil
}

// postConfirm runs the PostConfirmation hook. Its error is the caller's,
// although the password change stands (as in Cognito).
func (e *Engine) postConfirm(ctx context.Context, req *ConfirmRequest, user User) error {
	if e.hooks.PostConfirm == nil {
		return nil
	}
	ev := PostConfirmEvent{
		HookContext:    HookContext{TriggerSource: TriggerPostConfirm, PoolID: e.pool, ClientID: req.ClientID, Username: user.Username, ClientMetadata: req.ClientMetadata},
		Sub:            user.Sub,
		UserAttributes: withSub(user.Attributes, user.Sub),
	}
	_, err := callHook(ctx, e.hooks.Timeout, TriggerPostConfirm, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, e.hooks.PostConfirm.PostConfirm(ctx, ev)
	})
	return err
}

// checkPassword applies the password policy, the hasher's own limit and
// then the policy's Screen. weak is the policy's refusal, which Confirm
// answers only once the code has matched; err is the screen's failure, which
// Confirm answers at once, with the code untouched.
func (e *Engine) checkPassword(ctx context.Context, password string) (weak, err error) {
	if err := e.passwords.Check(password); err != nil {
		return err, nil
	}
	if e.maxPwBytes > 0 && len(password) > e.maxPwBytes {
		return newError(ErrInvalidPassword, fmt.Sprintf("Password does not conform to policy: Password must be at most %d bytes long", e.maxPwBytes)), nil
	}
	if err := e.passwords.screen(ctx, password); err != nil {
		if errors.Is(err, ErrInvalidPassword) {
			return err, nil
		}
		return nil, err
	}
	return nil, nil
}

// setPassword hashes the new password (only now, with the code known to
// match: argon2id is never spent on a wrong code) and stores it. With a
// user store that consumes the code in the same transaction, either both
// happen or neither. Otherwise the code was consumed already, and a failure
// makes it usable again, so the user can retry with it: at once when the
// hasher failed, and after SetPassword failed only once the stored hash,
// read back, shows the change was not applied (if it was, the reset
// succeeded and its reply was merely lost; if the read fails too, the code
// stays used rather than risk setting a second password).
func (e *Engine) setPassword(ctx context.Context, c *call, user User, key string, cands []KeyedHash, password string) error {
	status := user.Status
	if status == StatusResetRequired || status == "" {
		status = StatusConfirmed
	}
	change := PasswordChange{Sub: user.Sub, Status: status}
	hash, err := e.hash(ctx, password)
	if e.atomicSet != nil {
		if err != nil {
			return internalError(fmt.Errorf("password hasher: %w", err))
		}
		change.PasswordHash = hash
		check := CheckParams{Pool: e.pool, UserKey: key, Candidates: cands, Consume: true, Now: c.now, Limits: e.limits}
		out, err := e.atomicSet.SetPasswordConsuming(ctx, e.pool, check, change)
		if err != nil {
			return internalError(fmt.Errorf("user store: setting the password: %w", err))
		}
		if out != OutcomeOK {
			return outcomeError(out, e.policy.Cooldown)
		}
		return nil
	}
	rctx := context.WithoutCancel(ctx) // what follows a failure must happen even if the caller left
	if err != nil {
		e.restore(rctx, user.Sub, key, cands, c.now)
		return internalError(fmt.Errorf("password hasher: %w", err))
	}
	change.PasswordHash = hash
	serr := e.users.SetPassword(ctx, e.pool, change)
	if serr == nil {
		return nil
	}
	err = internalError(fmt.Errorf("user store: setting the password: %w", serr))
	if e.readBack != nil {
		stored, rerr := e.readBack.StoredPasswordHash(rctx, e.pool, user.Sub)
		switch {
		case rerr != nil:
			e.logLimited(ctx, slog.LevelError, "recovery: a password change failed and could not be read back; its code stays used, and the user must request a new one", "",
				slog.String("pool", e.pool), slog.String("sub", user.Sub), slog.String("error", rerr.Error()))
			return err
		case stored == hash: // hashes are salted: only this change wrote it
			return nil
		}
	}
	e.restore(rctx, user.Sub, key, cands, c.now)
	return err
}

// restore makes a consumed code usable again after a failed password change.
func (e *Engine) restore(ctx context.Context, sub, key string, cands []KeyedHash, now time.Time) {
	if err := e.codes.Restore(ctx, RestoreParams{Pool: e.pool, UserKey: key, Candidates: cands, Now: now}); err != nil {
		e.logLimited(ctx, slog.LevelError, "recovery: restoring a code after a failed password change failed; the user must request a new code", "",
			slog.String("pool", e.pool), slog.String("sub", sub), slog.String("error", err.Error()))
	}
}

// checkCode hashes the submitted code with every key (or, when !usable, into
// hashes that cannot match) and makes the one Check call. It returns the
// candidates too, for a later Restore.
func (e *Engine) checkCode(ctx context.Context, c *call, key, code string, usable, consume bool) (Outcome, []KeyedHash, error) {
	label, poolLabel := labelCode, labelCodePool
	if !usable {
		label, poolLabel = labelUnusableCheck, labelUnusableCheck
	}
	// Each key's hash as the engine binds it, and as a CodeIssuingFinder
	// does (always, so codes it issued stay usable when the engine stops
	// using it).
	cands := make([]KeyedHash, 0, 2*len(e.keys))
	for _, k := range e.keys {
		cands = append(cands, k.hash(label, e.pool, key, code), BoundCode(k.poolCode(poolLabel, e.pool, code), key))
	}
	out, err := e.codes.Check(ctx, CheckParams{Pool: e.pool, UserKey: key, Candidates: cands, Consume: consume, Now: c.now, Limits: e.limits})
	if err != nil {
		return 0, nil, internalError(fmt.Errorf("code store: %w", err))
	}
	if out < OutcomeOK || out > OutcomeLocked {
		return 0, nil, internalError(fmt.Errorf("code store: %T.Check answered %v", e.codes, out))
	}
	return out, cands, nil
}

func outcomeError(out Outcome, cooldown time.Duration) error {
	switch out {
	case OutcomeMismatch:
		return ErrCodeMismatch
	case OutcomeExpired:
		return ErrExpiredCode
	case OutcomeLimitExceeded:
		return ErrLimitExceeded
	case OutcomeLocked:
		return lockedError(cooldown)
	}
	return internalError(fmt.Errorf("code store: unexpected outcome %v", out))
}

// checkHistory refuses a password among the user's recent ones.
func (e *Engine) checkHistory(ctx context.Context, sub, password string) error {
	hashes, err := e.history.RecentPasswordHashes(ctx, e.pool, sub, e.passwords.HistorySize)
	if err != nil {
		return internalError(fmt.Errorf("user store: password history: %w", err))
	}
	for _, h := range hashes {
		same, err := e.verify(ctx, password, h)
		if err != nil {
			return internalError(fmt.Errorf("password hasher: verifying a stored hash: %w", err))
		}
		if same {
			return ErrPasswordHistoryPolicyViolation
		}
	}
	return nil
}

// hash and verify run the hasher within MaxConcurrentHashes.
func (e *Engine) hash(ctx context.Context, password string) (string, error) {
	if err := e.takeHashSlot(ctx); err != nil {
		return "", err
	}
	defer func() { <-e.hashSlots }()
	return e.hasher.Hash(password)
}

func (e *Engine) verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := e.takeHashSlot(ctx); err != nil {
		return false, err
	}
	defer func() { <-e.hashSlots }()
	return e.hasher.Verify(password, encoded)
}

func (e *Engine) takeHashSlot(ctx context.Context) error {
	select {
	case e.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for a password hashing slot: %w", ctx.Err())
	}
}
