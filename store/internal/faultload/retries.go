package faultload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// checkRetries cuts the backend while users confirm fresh codes, then
// retries every Confirm that failed with an internal error, with its code:
// the retry must succeed, unless the failed Confirm's password was applied
// (its reply lost), when the code must be used up. So a failure never
// wastes a code, and no code sets two passwords.
func (r *faultRun) checkRetries(ctx context.Context, v *violations, rep *PhaseReport) {
	p := r.engine.Policy()
	r.advance(max(p.BudgetWindow, p.Cooldown, p.CodeLifetime) + time.Minute)
	users := r.users[:min(len(r.users), 20)]
	codes, ok := r.freshCodes(ctx, v, users)
	if !ok {
		return
	}
	failed := r.confirmDuringOutage(ctx, v, users, codes)
	for _, a := range failed {
		r.retryFailed(ctx, v, rep, users[a.user], codes[a.user], a.password)
	}
}

// retryAttempt is a Confirm of the retry check that failed with an
// internal error: the index of its user and the password it submitted.
type retryAttempt struct {
	user     int
	password string
}

// untilAnswered calls f until it returns anything but an internal error or
// the settle timeout passes, and returns its last error.
func (r *faultRun) untilAnswered(ctx context.Context, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(r.cfg.SettleTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		err := f(cctx)
		cancel()
		if !errors.Is(err, recovery.ErrInternal) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freshCodes sends each user a code, retrying internal errors, and
// returns the codes; false if a user got none (reported).
func (r *faultRun) freshCodes(ctx context.Context, v *violations, users []faultUser) ([]string, bool) {
	codes := make([]string, len(users))
	for i, u := range users {
		if err := r.untilAnswered(ctx, func(ctx context.Context) error {
			_, err := r.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "faults", Username: u.name})
			codes[i], _ = r.capture.LastCode(u.name)
			return err
		}); err != nil {
			v.add("not recovered", "Recover for %s before the retry check: %v", u.name, err)
			return nil, false
		}
	}
	return codes, true
}

// confirm calls Confirm for user with code and password.
func (r *faultRun) confirm(ctx context.Context, user faultUser, code, password string) error {
	return r.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "faults", Username: user.name, ConfirmationCode: code, Password: password})
}

// confirmDuringOutage cuts the backend, has every user confirm its fresh
// code once, restores the backend after at least MinOutage, and returns
// the attempts that failed with an internal error.
func (r *faultRun) confirmDuringOutage(ctx context.Context, v *violations, users []faultUser, codes []string) []retryAttempt {
	var failed []retryAttempt
	r.cfg.Cut()
	cutAt := time.Now()
	for i := range users {
		password := fmt.Sprintf("Retry-%s-%d!pw", r.ph.name, r.pwSeq.Add(1))
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		err := r.confirm(cctx, users[i], codes[i], password)
		cancel()
		switch {
		case errors.Is(err, recovery.ErrInternal):
			failed = append(failed, retryAttempt{i, password})
		case err != nil:
			v.add("unexpected error", "Confirm for %s with its fresh code during an outage: %v", users[i].name, err)
		}
	}
	if d := r.cfg.MinOutage - time.Since(cutAt); d > 0 {
		time.Sleep(d)
	}
	r.cfg.Restore()
	return failed
}

// retryFailed retries code for u, whose Confirm with password failed with
// an internal error: it must succeed if that password was not applied, and
// find the code used if it was.
func (r *faultRun) retryFailed(ctx context.Context, v *violations, rep *PhaseReport, u faultUser, code, password string) {
	rep.Retried++
	var hash string
	if err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
		hash, err = r.cfg.PasswordHash(ctx, r.pool, u.sub)
		return err
	}); err != nil {
		r.t.Errorf("phase %s: reading the password hash of %s in the retry check: %v", r.ph.name, u.name, err)
		return
	}
	applied, _ := r.hasher.Verify(password, hash)
	err := r.untilAnswered(ctx, func(ctx context.Context) error {
		return r.confirm(ctx, u, code, fmt.Sprintf("Retry-%s-%d!pw", r.ph.name, r.pwSeq.Add(1)))
	})
	switch {
	case applied && errors.Is(err, recovery.ErrExpiredCode):
		rep.RetriedApplied++
	case applied && err == nil:
		v.add("code set two passwords", "%s: a Confirm that failed with an internal error had set its password, yet its code set another", u.name)
	case err == nil:
		rep.RetriedOK++
	default:
		v.add("failed confirm wasted its code", "%s: retrying the code of a Confirm that failed with an internal error: %v", u.name, err)
	}
}
