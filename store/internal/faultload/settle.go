package faultload

import (
	"context"
	"errors"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// settle shows that the stores work again after the outages, untouched:
// every user completes a reset (internal errors retried within the settle
// timeout), then every user completes one more without any error, and the
// stored password is that last one.
func (r *faultRun) settle(ctx context.Context, v *violations, rep *PhaseReport) {
	p := r.engine.Policy()
	pastAll := max(p.BudgetWindow, p.Cooldown, p.CodeLifetime) + time.Minute
	r.advance(pastAll)
	start := time.Now()
	deadline := start.Add(r.cfg.SettleTimeout)
	for _, user := range r.users {
		if !r.resetUntilRecovered(ctx, v, rep, user, deadline, pastAll) {
			return
		}
	}
	rep.Settle = time.Since(start)
	r.advance(pastAll)
	for _, user := range r.users {
		r.resetOnce(ctx, v, user)
	}
}

// reset has user complete Recover and Confirm with password, and returns
// the step that failed and its error.
func (r *faultRun) reset(ctx context.Context, user faultUser, password string) (step string, err error) {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	before := r.capture.Len()
	if _, err := r.engine.Recover(cctx, recovery.RecoverRequest{ClientID: "faults", Username: user.name}); err != nil {
		return "Recover", err
	}
	code, ok := r.capture.LastCode(user.name)
	if !ok || r.capture.Len() == before {
		return "Recover", errors.New("no code was sent")
	}
	return "Confirm", r.engine.Confirm(cctx, recovery.ConfirmRequest{ClientID: "faults", Username: user.name, ConfirmationCode: code, Password: password})
}

// resetUntilRecovered retries a reset for user until it succeeds, an
// error that cannot come from the outages is reported, or deadline passes:
// then it reports and returns false, and settling stops.
func (r *faultRun) resetUntilRecovered(ctx context.Context, v *violations, rep *PhaseReport, user faultUser, deadline time.Time, pastAll time.Duration) bool {
	failed := false // an attempt for this user failed internally
	for {
		step, err := r.reset(ctx, user, "Settled-1-"+user.name+"!")
		if err == nil {
			return true
		}
		// Internal errors are retried. So are a spent budget and a used
		// code after a failed attempt, or when calls may repeat: the
		// attempt may have been charged, or its code used, without an
		// answer saying so. The clock moves past both first.
		retried := errors.Is(err, recovery.ErrLimitExceeded) || errors.Is(err, recovery.ErrExpiredCode)
		if !errors.Is(err, recovery.ErrInternal) && !(retried && (failed || r.cfg.CallsMayRepeat)) {
			v.add("not recovered", "%s for %s after the outages: %v", step, user.name, err)
			return true
		}
		failed = true
		rep.SettleErrors++
		if time.Now().After(deadline) {
			v.add("not recovered", "%s for %s still fails %s after the last restore: %v", step, user.name, r.cfg.SettleTimeout, err)
			return false
		}
		r.advance(pastAll)
		time.Sleep(10 * time.Millisecond)
	}
}

// resetOnce has user complete a reset without any error, once every user
// has reset again, and checks that the stored password is the one it set.
func (r *faultRun) resetOnce(ctx context.Context, v *violations, user faultUser) {
	password := "Settled-2-" + user.name + "!"
	if step, err := r.reset(ctx, user, password); err != nil {
		v.add("not recovered", "%s for %s, once every user had reset again: %v", step, user.name, err)
		return
	}
	if r.cfg.PasswordHash == nil {
		return
	}
	hash, err := r.cfg.PasswordHash(ctx, r.pool, user.sub)
	if err != nil {
		v.add("not recovered", "reading the password hash of %s, once every user had reset again: %v", user.name, err)
		return
	}
	if ok, _ := r.hasher.Verify(password, hash); !ok {
		v.add("password change lost", "%s: after the faults, the stored password is not the one just set", user.name)
	}
}
