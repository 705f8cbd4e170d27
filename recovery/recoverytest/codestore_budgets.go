package recoverytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// testBudget: Budget issues fit in a rolling Window; an event leaves the
// window exactly Window after it happened.
func testBudget(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	exp := at(3 * time.Hour)
	code := func(i int) recovery.KeyedHash { return hk(kid1, fmt.Sprintf("%06d", i)) }
	for i := range 5 {
		u.wantIssue(fmt.Sprintf("issue %d of budget 5 at t0+%dm", i+1, i), recovery.OutcomeOK, at(time.Duration(i)*time.Minute), code(i), exp)
	}
	u.wantIssue("issue 6 with 5 events in the window", recovery.OutcomeLimitExceeded, at(5*time.Minute), code(5), exp)
	u.wantIssue("issue 1ms before the event at t0 leaves the window", recovery.OutcomeLimitExceeded, at(time.Hour-time.Millisecond), code(6), exp)
	u.wantIssue("issue at t0+Window, when the event at t0 is forgotten", recovery.OutcomeOK, at(time.Hour), code(7), exp)
	u.wantIssue("issue again at t0+Window (the event at t0+1m is still in)", recovery.OutcomeLimitExceeded, at(time.Hour), code(8), exp)
	u.wantIssue("issue 1ms before the event at t0+1m leaves", recovery.OutcomeLimitExceeded, at(time.Hour+time.Minute-time.Millisecond), code(9), exp)
	u.wantIssue("issue when the event at t0+1m is forgotten", recovery.OutcomeOK, at(time.Hour+time.Minute), code(10), exp)
	u.wantCheck("check code 6, refused at t0+5m (it must not have been stored)", recovery.OutcomeMismatch, at(time.Hour+2*time.Minute), false, code(5))
	u.wantCheck("consume the last code issued", recovery.OutcomeOK, at(time.Hour+3*time.Minute), true, code(10))
}

// testBudgetsSeparate: issues and failed checks have budgets of their own;
// once failures are spent, no code is compared and none is issued.
func testBudgetsSeparate(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: 3, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	a, b, wrong := hk(kid1, "111111"), hk(kid1, "222222"), hk(kid1, "999999")
	exp := at(3 * time.Hour)
	u.wantIssue("issue A (issue 1 of 5)", recovery.OutcomeOK, t0, a, exp)
	u.wantCheck("wrong code (failure 1 of 3)", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	u.wantIssue("issue B (issue 2 of 5)", recovery.OutcomeOK, at(2*time.Minute), b, exp)
	u.wantCheck("wrong code (failure 2 of 3)", recovery.OutcomeMismatch, at(3*time.Minute), true, wrong)
	u.wantCheck("wrong code (failure 3 of 3)", recovery.OutcomeMismatch, at(4*time.Minute), false, wrong)
	u.wantCheck("wrong code with the failures spent", recovery.OutcomeLimitExceeded, at(5*time.Minute), false, wrong)
	u.wantCheck("the right code B with the failures spent (not compared)", recovery.OutcomeLimitExceeded, at(5*time.Minute), true, b)
	u.wantIssue("issue with the failures spent (a code is only issued when it can be checked)", recovery.OutcomeLimitExceeded, at(5*time.Minute), hk(kid1, "333333"), exp)
	u.wantCheck("match B without Consume when the failure at t0+1m has left the window", recovery.OutcomeOK, at(time.Hour+time.Minute), false, b)
	u.wantCheck("wrong code (failure 3 of 3 again)", recovery.OutcomeMismatch, at(time.Hour+time.Minute), false, wrong)
	u.wantCheck("wrong code with the failures spent again", recovery.OutcomeLimitExceeded, at(time.Hour+time.Minute), false, wrong)
	u.wantCheck("consume B when the failure at t0+3m has left the window", recovery.OutcomeOK, at(time.Hour+3*time.Minute), true, b)

	v := newCodeUser(t, u.s, "2", recovery.CodeLimits{Budget: 2, FailureBudget: 5, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	v.wantIssue("issue A (issue 1 of 2)", recovery.OutcomeOK, t0, a, exp)
	v.wantIssue("issue B (issue 2 of 2)", recovery.OutcomeOK, at(time.Minute), b, exp)
	v.wantIssue("issue with the issues spent", recovery.OutcomeLimitExceeded, at(2*time.Minute), hk(kid1, "333333"), exp)
	v.wantCheck("wrong code with the issues spent (failures have their own budget)", recovery.OutcomeMismatch, at(3*time.Minute), false, wrong)
	v.wantCheck("consume B with the issues spent", recovery.OutcomeOK, at(4*time.Minute), true, b)
}

// testLastCodeOfTheBudgetUsable: the code of the last request the budget
// allows can be confirmed, and the budget still refuses the next request.
func testLastCodeOfTheBudgetUsable(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	exp := at(2 * time.Hour)
	code := func(i int) recovery.KeyedHash { return hk(kid1, fmt.Sprintf("%06d", i)) }
	for i := range 5 {
		u.wantIssue(fmt.Sprintf("request %d of 5", i+1), recovery.OutcomeOK, at(time.Duration(i)*time.Minute), code(i), exp)
	}
	u.wantIssue("request 6 (the budget of 5 is spent)", recovery.OutcomeLimitExceeded, at(5*time.Minute), code(5), exp)
	u.wantCheck("confirm with the fifth code", recovery.OutcomeOK, at(6*time.Minute), true, code(4))
	u.wantIssue("request after the confirmation (still over budget)", recovery.OutcomeLimitExceeded, at(7*time.Minute), code(6), exp)
	u.wantIssue("request when the first request has left the window", recovery.OutcomeOK, at(time.Hour), code(7), exp)
}

// testGuessesBounded: an attacker who alternates requests and wrong
// guesses as fast as it can gets at most FailureBudget codes compared in
// any window, however many requests it makes.
func testGuessesBounded(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	const failureBudget = 5
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 5, FailureBudget: failureBudget, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	var compared []time.Time
	for i := range 3 * 60 { // one request and one guess a minute for three hours
		now := at(time.Duration(i) * time.Minute)
		u.issue("request", now, hk(kid1, fmt.Sprintf("c%d", i)), now.Add(time.Hour))
		switch out := u.check("guess", now.Add(time.Second), false, hk(kid1, "wrong")); out {
		case recovery.OutcomeMismatch, recovery.OutcomeOK:
			compared = append(compared, now)
		case recovery.OutcomeLimitExceeded, recovery.OutcomeExpired:
		default:
			t.Fatalf("guess at %s: %v", rel(now), out)
		}
	}
	for i := range compared {
		n := 0
		for _, c := range compared[i:] {
			if c.Sub(compared[i]) < time.Hour {
				n++
			}
		}
		if n > failureBudget {
			t.Fatalf("%d guesses were compared within the hour from %s, want at most FailureBudget %d", n, rel(compared[i]), failureBudget)
		}
	}
	if len(compared) < 3*failureBudget {
		t.Errorf("%d guesses compared in three hours, want %d (the budget refreshes each hour)", len(compared), 3*failureBudget)
	}
}

// testLimitExceededChargesNothing: calls answered LimitExceeded add neither
// an issue nor a failure.
func testLimitExceededChargesNothing(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	limits := recovery.CodeLimits{Budget: 2, FailureBudget: 2, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour}
	exp := at(3 * time.Hour)
	u := newCodeUser(t, s, "issues", limits)
	u.wantIssue("issue (issue 1 of 2)", recovery.OutcomeOK, t0, hk(kid1, "000000"), exp)
	u.wantIssue("issue (issue 2 of 2)", recovery.OutcomeOK, at(30*time.Minute), hk(kid1, "111111"), exp)
	for i := range 3 {
		u.wantIssue("issue over budget", recovery.OutcomeLimitExceeded, at(40*time.Minute+time.Duration(i)*time.Second), hk(kid1, "222222"), exp)
	}
	u.wantIssue("issue at t0+1h: one slot is free unless refused calls were charged", recovery.OutcomeOK, at(time.Hour), hk(kid1, "333333"), exp)
	u.wantIssue("issue at t0+1h with both slots taken", recovery.OutcomeLimitExceeded, at(time.Hour), hk(kid1, "444444"), exp)

	v := newCodeUser(t, s, "failures", limits)
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")
	v.wantIssue("issue A", recovery.OutcomeOK, t0, a, exp)
	v.wantCheck("wrong code (failure 1 of 2)", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	v.wantCheck("wrong code (failure 2 of 2)", recovery.OutcomeMismatch, at(30*time.Minute), false, wrong)
	for i := range 3 {
		now := at(40*time.Minute + time.Duration(i)*time.Second)
		v.wantCheck("wrong code over budget", recovery.OutcomeLimitExceeded, now, false, wrong)
		v.wantIssue("issue over the failure budget", recovery.OutcomeLimitExceeded, now, hk(kid1, "222222"), exp)
	}
	v.wantCheck("wrong code at t0+1h1m: one slot is free unless refused calls were charged", recovery.OutcomeMismatch, at(time.Hour+time.Minute), false, wrong)
	v.wantCheck("wrong code at t0+1h1m with both slots taken", recovery.OutcomeLimitExceeded, at(time.Hour+time.Minute), false, wrong)
}

// testLimitExceededDoesNotConsume: with the failures spent even the right
// code is not compared, so it stays usable.
func testLimitExceededDoesNotConsume(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 2, FailureBudget: 1, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	a := hk(kid1, "111111")
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(3*time.Hour))
	u.wantCheck("wrong code (failure 1 of 1)", recovery.OutcomeMismatch, at(time.Minute), false, hk(kid1, "999999"))
	u.wantCheck("consume the right code A over budget", recovery.OutcomeLimitExceeded, at(2*time.Minute), true, a)
	u.wantCheck("consume A when the failure has left the window", recovery.OutcomeOK, at(time.Hour+time.Minute), true, a)
	u.wantCheck("check A after it was consumed", recovery.OutcomeExpired, at(time.Hour+time.Minute), true, a)
}

// testExpiredChargesNothing: calls answered Expired add no event.
func testExpiredChargesNothing(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 3, FailureBudget: 3, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	exp := at(3 * time.Hour)
	u.wantIssue("issue A expiring at t0+1m (event 1 of 3)", recovery.OutcomeOK, t0, a, at(time.Minute))
	for i := range 3 {
		now := at(2*time.Minute + time.Duration(i)*time.Second)
		u.wantCheck("check A after its expiry", recovery.OutcomeExpired, now, true, a)
		u.wantCheck("check a wrong code after A's expiry", recovery.OutcomeExpired, now, false, hk(kid1, "999999"))
	}
	u.wantIssue("issue B (event 2 of 3)", recovery.OutcomeOK, at(3*time.Minute), b, exp)
	u.revoke("revoke B", b)
	for i := range 3 {
		now := at(4*time.Minute + time.Duration(i)*time.Second)
		u.wantCheck("check B after it was revoked", recovery.OutcomeExpired, now, true, b)
		u.wantCheck("check a wrong code after B was revoked", recovery.OutcomeExpired, now, false, hk(kid1, "999999"))
	}
	u.wantIssue("issue C: event 3 of 3 unless Expired answers were charged", recovery.OutcomeOK, at(5*time.Minute), hk(kid1, "333333"), exp)
	u.wantIssue("issue D with the budget spent", recovery.OutcomeLimitExceeded, at(5*time.Minute), hk(kid1, "444444"), exp)
}
