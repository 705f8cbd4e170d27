package recoverytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// testMillisecondPrecision: expiry, window and lock keep milliseconds.
func testMillisecondPrecision(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")

	u := newCodeUser(t, s, "expiry", lenient)
	u.wantIssue("issue A expiring at t0+1.5s", recovery.OutcomeOK, t0, a, at(1500*time.Millisecond))
	u.wantCheck("check A at t0+1.499s", recovery.OutcomeOK, at(1499*time.Millisecond), false, a)
	u.wantCheck("check A at t0+1.5s", recovery.OutcomeExpired, at(1500*time.Millisecond), false, a)

	w := newCodeUser(t, s, "window", recovery.CodeLimits{Budget: 1, FailureBudget: 1, Window: 1500 * time.Millisecond, MaxFailures: 100, Cooldown: time.Hour})
	w.wantIssue("issue with Budget 1 and Window 1.5s", recovery.OutcomeOK, t0, a, at(time.Hour))
	w.wantIssue("issue at t0+1.499s", recovery.OutcomeLimitExceeded, at(1499*time.Millisecond), a, at(time.Hour))
	w.wantIssue("issue at t0+1.5s", recovery.OutcomeOK, at(1500*time.Millisecond), a, at(time.Hour))

	l := newCodeUser(t, s, "lock", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 1, Cooldown: 1500 * time.Millisecond})
	l.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
	l.wantCheck("mismatch at t0+1ms (MaxFailures 1: locked until t0+1.501s)", recovery.OutcomeMismatch, at(time.Millisecond), false, wrong)
	l.wantCheck("check A at t0+1.5s", recovery.OutcomeLocked, at(1500*time.Millisecond), false, a)
	l.wantCheck("check A at t0+1.501s", recovery.OutcomeOK, at(1501*time.Millisecond), false, a)
}

// testTimeZones: instants compare as instants whatever their Location.
func testTimeZones(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	east := time.FixedZone("UTC+14", 14*60*60)
	west := time.FixedZone("UTC-11", -11*60*60)
	odd := time.FixedZone("UTC+5:45", 5*60*60+45*60)
	a := hk(kid1, "111111")

	u := newCodeUser(t, s, "expiry", lenient)
	exp := at(10 * time.Minute)
	u.wantIssue("issue at t0 in UTC-11 expiring at t0+10m in UTC+14", recovery.OutcomeOK, t0.In(west), a, exp.In(east))
	u.wantCheck("check 1ms before expiry, given in UTC+5:45", recovery.OutcomeOK, exp.Add(-time.Millisecond).In(odd), false, a)
	u.wantCheck("check at expiry, given in UTC-11", recovery.OutcomeExpired, exp.In(west), false, a)

	w := newCodeUser(t, s, "window", recovery.CodeLimits{Budget: 1, FailureBudget: 1, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	w.wantIssue("issue at t0 in UTC+14", recovery.OutcomeOK, t0.In(east), a, at(3*time.Hour).In(east))
	w.wantIssue("issue 1ms before the window ends, given in UTC-11", recovery.OutcomeLimitExceeded, at(time.Hour-time.Millisecond).In(west), a, at(3*time.Hour).In(west))
	w.wantIssue("issue at the window's end, given in UTC", recovery.OutcomeOK, at(time.Hour).UTC(), a, at(3*time.Hour).UTC())

	l := newCodeUser(t, s, "lock", recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 1, Cooldown: time.Hour})
	l.wantIssue("issue A in UTC", recovery.OutcomeOK, t0, a, at(3*time.Hour))
	l.wantCheck("mismatch at t0 in UTC+14 (locked until t0+1h)", recovery.OutcomeMismatch, t0.In(east), false, hk(kid1, "999999"))
	l.wantCheck("check 1ms before the lock ends, given in UTC-11", recovery.OutcomeLocked, at(time.Hour-time.Millisecond).In(west), false, a)
	l.wantCheck("check at the lock's end, given in UTC+5:45", recovery.OutcomeOK, at(time.Hour).In(odd), false, a)
}

// testSweepExpired: SweepExpired removes every record whose deadlines
// (code expiry, end of the window of its latest event, lock) have passed, at
// most limit per call, and nothing else.
func testSweepExpired(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	sw, ok := s.(recovery.ExpiredSweeper)
	if !ok {
		t.Skipf("%T does not implement recovery.ExpiredSweeper", s)
	}
	wrong := hk(kid1, "999999")
	// Dead by t0+2h: every event at or before t0+20m, Window 1h, Cooldown
	// 15m, codes expired by t0+10m.
	short := recovery.CodeLimits{Budget: 10, FailureBudget: 10, Window: time.Hour, MaxFailures: 2, Cooldown: 15 * time.Minute}
	dead := make([]*codeUser, 6)
	for i := range dead {
		dead[i] = newCodeUser(t, s, fmt.Sprintf("dead%d", i), short)
		dead[i].wantIssue("issue", recovery.OutcomeOK, t0, hk(kid1, "111111"), at(10*time.Minute))
	}
	dead[1].wantCheck("consume", recovery.OutcomeOK, at(time.Minute), true, hk(kid1, "111111"))
	dead[2].wantCheck("mismatch", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	dead[3].wantCheck("mismatch 1", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	dead[3].wantCheck("mismatch 2 (locked until t0+17m)", recovery.OutcomeMismatch, at(2*time.Minute), false, wrong)
	dead[4].revoke("revoke", hk(kid1, "111111"))
	dead[5].wantCheck("check after expiry", recovery.OutcomeExpired, at(20*time.Minute), false, hk(kid1, "111111"))

	// Alive at t0+2h, each for one reason: a code expiring at t0+10h, a lock
	// ending at t0+10h2m, budget events in a 10h window.
	liveCode := newCodeUser(t, s, "live-code", short)
	liveCode.wantIssue("issue", recovery.OutcomeOK, t0, hk(kid1, "222222"), at(10*time.Hour))
	liveLock := newCodeUser(t, s, "live-lock", recovery.CodeLimits{Budget: 10, FailureBudget: 10, Window: time.Hour, MaxFailures: 2, Cooldown: 10 * time.Hour})
	liveLock.wantIssue("issue", recovery.OutcomeOK, t0, hk(kid1, "222222"), at(10*time.Minute))
	liveLock.wantCheck("mismatch 1", recovery.OutcomeMismatch, at(time.Minute), false, wrong)
	liveLock.wantCheck("mismatch 2 (locked until t0+10h2m)", recovery.OutcomeMismatch, at(2*time.Minute), false, wrong)
	liveBudget := newCodeUser(t, s, "live-budget", recovery.CodeLimits{Budget: 2, FailureBudget: 2, Window: 10 * time.Hour, MaxFailures: 2, Cooldown: 15 * time.Minute})
	liveBudget.wantIssue("issue 1 of 2", recovery.OutcomeOK, t0, hk(kid1, "222222"), at(10*time.Minute))
	liveBudget.wantIssue("issue 2 of 2", recovery.OutcomeOK, t0, hk(kid1, "333333"), at(10*time.Minute))

	sweep := func(now time.Time, limit int) int {
		t.Helper()
		n, err := sw.SweepExpired(t.Context(), now, limit)
		if err != nil {
			t.Errorf("SweepExpired(%s, %d): error %v", rel(now), limit, err)
		}
		if n < 0 || (limit > 0 && n > limit) {
			t.Errorf("SweepExpired(%s, %d) removed %d records", rel(now), limit, n)
		}
		return n
	}
	if n := sweep(at(30*time.Minute), 0); n != 0 {
		t.Errorf("SweepExpired(t0+30m, 0) removed %d records, want 0: every record still has a budget event in its window", n)
	}
	late := at(2 * time.Hour)
	const limit = 2
	first := sweep(late, limit)
	if first < 1 {
		t.Errorf("SweepExpired(t0+2h, %d) removed %d records, want at least 1: %d records are dead", limit, first, len(dead))
	}
	total := first
	for i := 0; first > 0 && i < 2*len(dead); i++ {
		n := sweep(late, limit)
		total += n
		if n == 0 {
			break
		}
	}
	if total != len(dead) {
		t.Errorf("SweepExpired(t0+2h, %d) until it returned 0 removed %d records in all, want %d (one per dead (pool, user key))", limit, total, len(dead))
	}
	if n := sweep(late, 0); n != 0 {
		t.Errorf("SweepExpired(t0+2h, 0) after everything dead was swept removed %d records, want 0", n)
	}

	liveCode.wantCheck("check the live code after the sweep", recovery.OutcomeOK, late, false, hk(kid1, "222222"))
	liveLock.wantIssue("issue for the locked user after the sweep", recovery.OutcomeLocked, late, hk(kid1, "444444"), at(3*time.Hour))
	liveBudget.wantIssue("issue for the user with a spent budget after the sweep", recovery.OutcomeLimitExceeded, late, hk(kid1, "444444"), at(3*time.Hour))
	dead[3].wantIssue("issue for a swept user", recovery.OutcomeOK, late, hk(kid1, "555555"), at(3*time.Hour))
	dead[3].wantCheck("consume the code of a swept user", recovery.OutcomeOK, late, true, hk(kid1, "555555"))
}
