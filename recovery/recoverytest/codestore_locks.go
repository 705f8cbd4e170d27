package recoverytest

import (
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// testLock: MaxFailures consecutive mismatches lock the user for Cooldown
// from the last one; at the lock's end the streak starts again from zero.
func testLock(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute})
	a, b, wrong := hk(kid1, "111111"), hk(kid1, "222222"), hk(kid1, "999999")
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(2*time.Hour))
	u.wantCheck("mismatch 1 of 3", recovery.OutcomeMismatch, at(1*time.Second), false, wrong)
	u.wantCheck("mismatch 2 of 3", recovery.OutcomeMismatch, at(2*time.Second), false, wrong)
	u.wantCheck("mismatch 3 of 3 (sets the lock, still answers Mismatch)", recovery.OutcomeMismatch, at(3*time.Second), false, wrong)
	lockEnd := at(3*time.Second + 15*time.Minute)
	u.wantCheck("consume the right code A while locked", recovery.OutcomeLocked, at(4*time.Second), true, a)
	u.wantIssue("issue B while locked", recovery.OutcomeLocked, at(5*time.Second), b, at(2*time.Hour))
	u.wantCheck("wrong code while locked", recovery.OutcomeLocked, at(6*time.Second), false, wrong)
	u.wantCheck("right code 1ms before the lock ends", recovery.OutcomeLocked, lockEnd.Add(-time.Millisecond), false, a)
	u.wantCheck("check B when the lock has ended (B was refused, so it mismatches; streak 1)", recovery.OutcomeMismatch, lockEnd, false, b)
	u.wantCheck("mismatch 2 after the lock", recovery.OutcomeMismatch, lockEnd, false, wrong)
	u.wantCheck("check A without Consume (the locked calls did not consume it)", recovery.OutcomeOK, lockEnd, false, a)
	u.wantCheck("mismatch 3 after the lock (locks again)", recovery.OutcomeMismatch, lockEnd.Add(time.Second), false, wrong)
	u.wantCheck("right code after the second lock was set", recovery.OutcomeLocked, lockEnd.Add(2*time.Second), true, a)
}

// testLockedChargesNothing: calls answered Locked add no issue and no
// failure.
func testLockedChargesNothing(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 3, FailureBudget: 4, Window: time.Hour, MaxFailures: 2, Cooldown: 15 * time.Minute})
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")
	exp := at(3 * time.Hour)
	u.wantIssue("issue A (issue 1 of 3)", recovery.OutcomeOK, t0, a, exp)
	u.wantCheck("mismatch (failure 1 of 4, streak 1 of 2)", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	u.wantCheck("mismatch (failure 2 of 4, streak 2 of 2: locked until t0+17m)", recovery.OutcomeMismatch, at(2*time.Minute), false, wrong)
	for i := range 3 {
		now := at(3*time.Minute + time.Duration(i)*time.Second)
		u.wantIssue("issue while locked", recovery.OutcomeLocked, now, hk(kid1, "222222"), exp)
		u.wantCheck("wrong code while locked", recovery.OutcomeLocked, now, false, wrong)
		u.wantCheck("right code while locked", recovery.OutcomeLocked, now, true, a)
	}
	lockEnd := at(17 * time.Minute)
	u.wantCheck("check A at the lock's end", recovery.OutcomeOK, lockEnd, false, a)
	u.wantCheck("mismatch (failure 3 of 4 unless Locked answers were charged)", recovery.OutcomeMismatch, lockEnd, false, wrong)
	u.wantIssue("issue (issue 2 of 3 unless Locked answers were charged)", recovery.OutcomeOK, lockEnd, hk(kid1, "333333"), exp)
	u.wantIssue("issue (issue 3 of 3)", recovery.OutcomeOK, lockEnd, hk(kid1, "444444"), exp)
	u.wantIssue("issue with the budget spent", recovery.OutcomeLimitExceeded, lockEnd, hk(kid1, "555555"), exp)
	u.wantCheck("mismatch (failure 4 of 4, streak 2 of 2: locked again)", recovery.OutcomeMismatch, lockEnd, false, wrong)
}

// testGateOrder: the lock is checked before the budgets, and both before
// the code.
func testGateOrder(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")
	u := newCodeUser(t, s, "1", recovery.CodeLimits{Budget: 3, FailureBudget: 2, Window: time.Hour, MaxFailures: 2, Cooldown: 15 * time.Minute})
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(20*time.Minute))
	u.wantCheck("mismatch (failure 1 of 2, streak 1 of 2)", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	u.wantCheck("mismatch (failure 2 of 2, streak 2 of 2: locked until t0+17m)", recovery.OutcomeMismatch, at(2*time.Minute), false, wrong)
	u.wantCheck("right code, locked and over budget", recovery.OutcomeLocked, at(3*time.Minute), true, a)
	u.wantIssue("issue, locked and over budget", recovery.OutcomeLocked, at(3*time.Minute), hk(kid1, "222222"), at(time.Hour))
	u.wantCheck("right code at the lock's end, still over budget", recovery.OutcomeLimitExceeded, at(17*time.Minute), true, a)
	u.wantCheck("right code after its expiry, still over budget", recovery.OutcomeLimitExceeded, at(30*time.Minute), true, a)
	u.wantCheck("right code after its expiry, when the failure at t0+1m has left the window", recovery.OutcomeExpired, at(time.Hour+time.Minute), true, a)

	v := newCodeUser(t, s, "2", recovery.CodeLimits{Budget: 5, FailureBudget: 1, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	v.wantIssue("issue A expiring at t0+1m", recovery.OutcomeOK, t0, a, at(time.Minute))
	v.wantCheck("a wrong code (failure 1 of 1)", recovery.OutcomeMismatch, at(30*time.Second), false, wrong)
	v.wantCheck("a wrong code over the failure budget, after A's expiry", recovery.OutcomeLimitExceeded, at(2*time.Minute), false, wrong)
}

// testConsumedMatchResetsStreak: a consumed match starts the streak again.
func testConsumedMatchResetsStreak(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute})
	a, b, wrong := hk(kid1, "111111"), hk(kid1, "222222"), hk(kid1, "999999")
	exp := at(time.Hour)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, exp)
	u.wantCheck("mismatch 1", recovery.OutcomeMismatch, at(1*time.Second), false, wrong)
	u.wantCheck("mismatch 2", recovery.OutcomeMismatch, at(2*time.Second), false, wrong)
	u.wantCheck("consume A (resets the streak)", recovery.OutcomeOK, at(3*time.Second), true, a)
	u.wantIssue("issue B", recovery.OutcomeOK, at(4*time.Second), b, exp)
	u.wantCheck("mismatch 1 after the reset", recovery.OutcomeMismatch, at(5*time.Second), false, wrong)
	u.wantCheck("mismatch 2 after the reset", recovery.OutcomeMismatch, at(6*time.Second), false, wrong)
	u.wantCheck("consume B (4 mismatches in all, but at most 2 in a row)", recovery.OutcomeOK, at(7*time.Second), true, b)
}

// testMatchWithoutConsumeKeepsStreak: a match without Consume changes
// nothing, the streak included.
func testMatchWithoutConsumeKeepsStreak(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute})
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
	u.wantCheck("mismatch 1", recovery.OutcomeMismatch, at(1*time.Second), false, wrong)
	u.wantCheck("mismatch 2", recovery.OutcomeMismatch, at(2*time.Second), false, wrong)
	u.wantCheck("match A without Consume", recovery.OutcomeOK, at(3*time.Second), false, a)
	u.wantCheck("mismatch 3 (the match without Consume did not reset the streak)", recovery.OutcomeMismatch, at(4*time.Second), false, wrong)
	u.wantCheck("consume A after 3 mismatches in a row", recovery.OutcomeLocked, at(5*time.Second), true, a)
}

// testIssueKeepsStreak: a new code does not reset the streak (only a
// consumed match or the end of a lock does).
func testIssueKeepsStreak(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute})
	b, wrong := hk(kid1, "222222"), hk(kid1, "999999")
	u.wantIssue("issue A", recovery.OutcomeOK, t0, hk(kid1, "111111"), at(time.Hour))
	u.wantCheck("mismatch 1", recovery.OutcomeMismatch, at(1*time.Second), false, wrong)
	u.wantCheck("mismatch 2", recovery.OutcomeMismatch, at(2*time.Second), false, wrong)
	u.wantIssue("issue B", recovery.OutcomeOK, at(3*time.Second), b, at(time.Hour))
	u.wantCheck("mismatch 3 (issuing B did not reset the streak)", recovery.OutcomeMismatch, at(4*time.Second), false, wrong)
	u.wantCheck("consume B after 3 mismatches in a row", recovery.OutcomeLocked, at(5*time.Second), true, b)
}
