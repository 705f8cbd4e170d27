package recoverytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// tally counts outcomes of concurrent calls, reporting errors.
func tally(t *testing.T, what string, outs []recovery.Outcome, errs []error) map[recovery.Outcome]int {
	t.Helper()
	reportErrors(t, what, errs)
	n := map[recovery.Outcome]int{}
	for i, o := range outs {
		if errs[i] == nil {
			n[o]++
		}
	}
	return n
}

// wantTally reports counts that differ from want (outcomes absent from want
// are expected zero times).
func wantTally(t *testing.T, what string, got, want map[recovery.Outcome]int) {
	t.Helper()
	bad := false
	for o, n := range want {
		if got[o] != n {
			bad = true
		}
	}
	for o, n := range got {
		if _, ok := want[o]; !ok && n > 0 {
			bad = true
		}
	}
	if bad {
		t.Errorf("%s: outcomes %v, want %v", what, got, want)
	}
}

// testConcurrentConsume: of many simultaneous consuming checks of the right
// code, exactly one succeeds.
func testConcurrentConsume(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	const n = 100
	u := newCodeUser(t, newStore(t), "1", lenient)
	a := hk(kid1, "123456")
	if !u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour)) {
		return
	}
	now := at(time.Second)
	outs, errs := concurrently(t, n, func(ctx context.Context, _ int) (recovery.Outcome, error) {
		return u.s.Check(ctx, u.checkParams(now, true, []recovery.KeyedHash{hk(kid1, "123456")}))
	})
	what := fmt.Sprintf("%d concurrent Checks consuming the right code", n)
	wantTally(t, what, tally(t, what, outs, errs), map[recovery.Outcome]int{recovery.OutcomeOK: 1, recovery.OutcomeExpired: n - 1})
}

// testConcurrentMismatchBudget: simultaneous failures never overrun the
// budget.
func testConcurrentMismatchBudget(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	const n = 500
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 1000, Cooldown: time.Hour})
	if !u.wantIssue("issue A", recovery.OutcomeOK, t0, hk(kid1, "123456"), at(time.Hour)) {
		return
	}
	now := at(time.Second)
	outs, errs := concurrently(t, n, func(ctx context.Context, i int) (recovery.Outcome, error) {
		return u.s.Check(ctx, u.checkParams(now, true, []recovery.KeyedHash{hk(kid1, fmt.Sprintf("w%d", i))}))
	})
	what := fmt.Sprintf("%d concurrent Checks of wrong codes with FailureBudget 5", n)
	wantTally(t, what, tally(t, what, outs, errs), map[recovery.Outcome]int{recovery.OutcomeMismatch: 5, recovery.OutcomeLimitExceeded: n - 5})
}

// testConcurrentMismatchLock: simultaneous failures never overrun
// MaxFailures.
func testConcurrentMismatchLock(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	const n = 100
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 1000, FailureBudget: 1000, Window: time.Hour, MaxFailures: 3, Cooldown: time.Hour})
	if !u.wantIssue("issue A", recovery.OutcomeOK, t0, hk(kid1, "123456"), at(time.Hour)) {
		return
	}
	now := at(time.Second)
	outs, errs := concurrently(t, n, func(ctx context.Context, i int) (recovery.Outcome, error) {
		return u.s.Check(ctx, u.checkParams(now, false, []recovery.KeyedHash{hk(kid1, fmt.Sprintf("w%d", i))}))
	})
	what := fmt.Sprintf("%d concurrent Checks of wrong codes with MaxFailures 3", n)
	wantTally(t, what, tally(t, what, outs, errs), map[recovery.Outcome]int{recovery.OutcomeMismatch: 3, recovery.OutcomeLocked: n - 3})
}

// testConcurrentIssue: simultaneous issues never overrun the budget, and the
// code left current is one that was accepted.
func testConcurrentIssue(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	const n = 50
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 1000, Cooldown: time.Hour})
	code := func(i int) recovery.KeyedHash { return hk(kid1, fmt.Sprintf("c%d", i)) }
	outs, errs := concurrently(t, n, func(ctx context.Context, i int) (recovery.Outcome, error) {
		return u.s.Issue(ctx, u.issueParams(t0, code(i), at(2*time.Hour)))
	})
	what := fmt.Sprintf("%d concurrent Issues with Budget 5", n)
	wantTally(t, what, tally(t, what, outs, errs), map[recovery.Outcome]int{recovery.OutcomeOK: 5, recovery.OutcomeLimitExceeded: n - 5})
	var accepted, refused []recovery.KeyedHash
	for i, o := range outs {
		switch {
		case errs[i] != nil:
		case o == recovery.OutcomeOK:
			accepted = append(accepted, code(i))
		default:
			refused = append(refused, code(i))
		}
	}
	// All events were at t0, so at t0+Window the budget is free again.
	if len(refused) > 0 {
		u.wantCheck("check the codes whose Issue was refused", recovery.OutcomeMismatch, at(time.Hour), false, refused...)
	}
	if len(accepted) > 0 {
		u.wantCheck("check the codes whose Issue was accepted (one of them is current)", recovery.OutcomeOK, at(time.Hour), true, accepted...)
	}
}

// testPoolIsolation: one user key in two pools is two users.
func testPoolIsolation(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	limits := recovery.CodeLimits{Budget: 3, FailureBudget: 3, Window: time.Hour, MaxFailures: 2, Cooldown: time.Hour}
	p1 := newCodeUser(t, s, "shared", limits)
	p2 := newCodeUser(t, s, "shared", limits)
	p1.pool, p2.pool = p1.pool+"-1", p1.pool+"-2"
	testTwoUsersIndependent(t, p1, p2)
}

// testUserIsolation: two users of one pool are independent.
func testUserIsolation(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	limits := recovery.CodeLimits{Budget: 3, FailureBudget: 3, Window: time.Hour, MaxFailures: 2, Cooldown: time.Hour}
	testTwoUsersIndependent(t, newCodeUser(t, s, "1", limits), newCodeUser(t, s, "2", limits))
}

// testTwoUsersIndependent checks that codes, budget and lock of u1 do not
// affect u2 (limits: Budget 3, MaxFailures 2).
func testTwoUsersIndependent(t *testing.T, u1, u2 *codeUser) {
	t.Helper()
	a, b, wrong := hk(kid1, "111111"), hk(kid1, "222222"), hk(kid1, "999999")
	exp := at(time.Hour)
	u1.wantIssue("issue A for the first user", recovery.OutcomeOK, t0, a, exp)
	u2.wantCheck("check A for the second user, who has no code", recovery.OutcomeExpired, at(time.Second), false, a)
	u2.wantIssue("issue B for the second user", recovery.OutcomeOK, at(2*time.Second), b, exp)
	u1.wantCheck("check B for the first user", recovery.OutcomeMismatch, at(3*time.Second), false, b)
	u1.wantCheck("check A for the first user", recovery.OutcomeOK, at(4*time.Second), false, a)
	u2.wantCheck("check A for the second user", recovery.OutcomeMismatch, at(5*time.Second), false, a)
	u2.wantCheck("check B for the second user", recovery.OutcomeOK, at(6*time.Second), false, b)
	u1.wantCheck("first user's second mismatch (locks the first user)", recovery.OutcomeMismatch, at(7*time.Second), false, wrong)
	u1.wantCheck("first user after the lock", recovery.OutcomeLocked, at(8*time.Second), false, a)
	u1.revoke("revoke A for the first user", a)
	u2.wantCheck("check B for the second user after the first user's revoke", recovery.OutcomeOK, at(9*time.Second), false, b)
	u2.wantCheck("consume B for the second user while the first is locked", recovery.OutcomeOK, at(10*time.Second), true, b)
	// Budget 3: the first user has one issue and a lock, the second one issue.
	u2.wantIssue("second user's second issue", recovery.OutcomeOK, at(11*time.Second), b, exp)
	u2.wantIssue("second user's third issue", recovery.OutcomeOK, at(12*time.Second), b, exp)
	u2.wantIssue("second user's fourth issue", recovery.OutcomeLimitExceeded, at(13*time.Second), b, exp)
}

// testKeysDoNotCollide: (pool, user) pairs that concatenate to the same
// string are still different users.
func testKeysDoNotCollide(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	pairs := [][2][2]string{
		{{"rt:a", "b:c"}, {"rt:a:b", "c"}},
		{{"rt-ab", "c"}, {"rt-a", "bc"}},
		{{"rt/x", "y"}, {"rt", "x/y"}},
	}
	for i, pair := range pairs {
		u1 := &codeUser{t: t, s: s, pool: pair[0][0], key: pair[0][1], limits: lenient}
		u2 := &codeUser{t: t, s: s, pool: pair[1][0], key: pair[1][1], limits: lenient}
		a, b := hk(kid1, fmt.Sprintf("a%d", i)), hk(kid1, fmt.Sprintf("b%d", i))
		u1.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
		u2.wantCheck(fmt.Sprintf("check A as (%q, %q)", u2.pool, u2.key), recovery.OutcomeExpired, at(time.Second), false, a)
		u2.wantIssue("issue B", recovery.OutcomeOK, at(2*time.Second), b, at(time.Hour))
		u1.wantCheck(fmt.Sprintf("check A after B was issued to (%q, %q)", u2.pool, u2.key), recovery.OutcomeOK, at(3*time.Second), false, a)
	}
}

// testStoresIsolated: two stores from two calls of the factory share
// nothing.
func testStoresIsolated(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	limits := recovery.CodeLimits{Budget: 2, FailureBudget: 2, Window: time.Hour, MaxFailures: 1, Cooldown: time.Hour}
	u1 := newCodeUser(t, newStore(t), "1", limits)
	u2 := newCodeUser(t, newStore(t), "1", limits) // same pool and key, other store
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	u1.wantIssue("issue A in the first store", recovery.OutcomeOK, t0, a, at(time.Hour))
	u2.wantCheck("check A in the second store", recovery.OutcomeExpired, at(time.Second), false, a)
	u2.wantIssue("issue B in the second store", recovery.OutcomeOK, at(2*time.Second), b, at(time.Hour))
	u1.wantCheck("check A in the first store", recovery.OutcomeOK, at(3*time.Second), false, a)
	u2.wantCheck("consume B in the second store", recovery.OutcomeOK, at(4*time.Second), true, b)
	u1.wantCheck("consume A in the first store", recovery.OutcomeOK, at(5*time.Second), true, a)
}

// testCodeStoreCancelledContext: a cancelled context makes a call fail with
// context.Canceled or complete normally, never panic; the store stays usable.
func testCodeStoreCancelledContext(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	a := hk(kid1, "111111")
	u := newCodeUser(t, s, "1", lenient)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
	ctx := cancelled(t)

	var out recovery.Outcome
	if callCancelled(t, "Check", func() (err error) {
		out, err = s.Check(ctx, u.checkParams(at(time.Second), false, []recovery.KeyedHash{a}))
		return err
	}) && out != recovery.OutcomeOK {
		t.Errorf("Check of the right code with a cancelled context returned no error and %v, want %v", out, recovery.OutcomeOK)
	}
	v := newCodeUser(t, s, "2", lenient)
	b := hk(kid1, "222222")
	issued := callCancelled(t, "Issue", func() (err error) {
		out, err = s.Issue(ctx, v.issueParams(at(time.Second), b, at(time.Hour)))
		return err
	})
	if issued && out != recovery.OutcomeOK {
		t.Errorf("Issue with a cancelled context returned no error and %v, want %v", out, recovery.OutcomeOK)
	}
	callCancelled(t, "Revoke", func() error { return s.Revoke(ctx, u.pool, u.key, hk(kid1, "333333")) })
	if sw, ok := s.(recovery.ExpiredSweeper); ok {
		callCancelled(t, "SweepExpired", func() error {
			_, err := sw.SweepExpired(ctx, at(time.Second), 0)
			return err
		})
	}

	u.wantCheck("consume A with a live context after the cancelled calls", recovery.OutcomeOK, at(2*time.Second), true, a)
	if issued {
		v.wantCheck("consume the code issued with a cancelled context", recovery.OutcomeOK, at(2*time.Second), true, b)
	} else {
		v.wantIssue("issue for the second user with a live context", recovery.OutcomeOK, at(2*time.Second), b, at(time.Hour))
	}
}
