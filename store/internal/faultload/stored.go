package faultload

import (
	"context"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// retry calls f until it succeeds or the settle timeout passes, counting
// its failures in *failed, and returns its last error.
func (r *faultRun) retry(ctx context.Context, failed *int, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(r.cfg.SettleTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		err := f(cctx)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		*failed++
		time.Sleep(10 * time.Millisecond)
	}
}

// checkStored compares the stores' contents with what the clients saw.
func (r *faultRun) checkStored(ctx context.Context, v *violations, ops []*faultOp, rep *PhaseReport) {
	p := r.engine.Policy()
	end := r.now()
	for u, uops := range byUser(ops, len(r.users)) {
		user := r.users[u]
		if r.cfg.PasswordHash != nil {
			var hash string
			err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
				hash, err = r.cfg.PasswordHash(ctx, r.pool, user.sub)
				return err
			})
			if err != nil {
				r.t.Errorf("phase %s: reading the password hash of %s after the outages: %v", r.ph.name, user.name, err)
				continue
			}
			r.checkPassword(v, user, uops, hash)
		}
		if r.cfg.Events != nil {
			var issues, failures []time.Time
			err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
				issues, failures, err = r.cfg.Events(ctx, r.pool, recovery.UserKey(user.sub))
				return err
			})
			if err != nil {
				r.t.Errorf("phase %s: reading the budget events of %s after the outages: %v", r.ph.name, user.name, err)
				continue
			}
			from := end.Add(-p.BudgetWindow)
			r.compareCharges(v, user.name, "issues", issues, uops, from, end, p.Budget, (*faultOp).issued)
			r.compareCharges(v, user.name, "failures", failures, uops, from, end, p.FailureBudget, (*faultOp).missed)
		}
	}
}

// compareCharges compares the times of one kind of charge a store holds in
// the window (from, end] with the calls the clients saw charged there:
// none lost, and, unless calls may repeat, none invented beyond the calls
// that failed with an internal error.
func (r *faultRun) compareCharges(v *violations, user, what string, held []time.Time, uops []*faultOp, from, end time.Time, budget int, charged func(*faultOp) bool) {
	stored := 0
	for _, e := range held {
		if e.After(from) && !e.After(end) {
			stored++
		}
	}
	seen, maybe := 0, 0
	for _, op := range uops {
		switch {
		case !op.at.After(from):
		case charged(op):
			seen++
		case op.internal() || op.panicked != nil:
			maybe++
		}
	}
	if lo := min(seen, budget); stored < lo {
		v.add("charge lost", "%s: the store holds %d %s in the window ending %s, the clients saw %d charged there", user, stored, what, rel(end), seen)
	}
	if hi := min(seen+maybe, budget); stored > hi && !r.cfg.CallsMayRepeat {
		v.add("phantom charge", "%s: the store holds %d %s in the window ending %s; the clients saw %d charged there and %d calls that failed", user, stored, what, rel(end), seen, maybe)
	}
}

// checkPassword checks that the stored hash is the password of a Confirm
// that no later successful Confirm superseded.
func (r *faultRun) checkPassword(v *violations, user faultUser, uops []*faultOp, hash string) {
	var setter *faultOp
	var succeeded []*faultOp
	for _, op := range uops {
		if op.isRecover() || op.weak() || op.panicked != nil || !(op.err == nil || op.internal()) {
			continue
		}
		if op.err == nil {
			succeeded = append(succeeded, op)
		}
		if ok, _ := r.hasher.Verify(op.password, hash); ok {
			setter = op
		}
	}
	switch {
	case setter != nil:
		for _, b := range succeeded {
			if b.start > setter.end {
				v.add("password change lost", "%s: the stored password is the one of %s, but %s began after it and succeeded", user.name, setter, b)
				return
			}
		}
	case len(succeeded) > 0:
		if ok, _ := r.hasher.Verify(user.initial, hash); ok {
			v.add("password change lost", "%s: the stored password is the initial one, but %s succeeded", user.name, succeeded[len(succeeded)-1])
		} else {
			v.add("password nobody set", "%s: the stored hash is the password of no Confirm", user.name)
		}
	default:
		if ok, _ := r.hasher.Verify(user.initial, hash); !ok {
			v.add("password nobody set", "%s: no Confirm succeeded, yet the stored hash is not the initial password", user.name)
		}
	}
}
