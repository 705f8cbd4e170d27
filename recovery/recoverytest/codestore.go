package recoverytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestCodeStore checks that the recovery.CodeStore made by newStore keeps
// the contract documented on recovery.CodeStore: the lock, then the rolling
// budget, then the code (latest wins, valid while Now is before ExpiresAt,
// single use with Consume), the failure streak and its lock, exact limits
// and single use under concurrent calls, isolation of pools, users and
// stores, millisecond precision and time zones, cancelled contexts,
// defensive copies and, when the store implements recovery.ExpiredSweeper,
// sweeping.
//
// Each subtest calls newStore once (the isolation subtest twice) and uses
// only the store it got. Every call of newStore must return a store isolated
// from every other store it returned, as if on its own empty backend: for a
// networked backend, a fresh key prefix or schema on the same server, removed
// with t.Cleanup if need be. The subtests also use pool and user keys of
// their own.
//
// The concurrency subtests run up to 500 goroutines for one user and give
// them 30 seconds; run the suite with -race (see the package documentation
// for what it cannot prove).
func TestCodeStore(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	t.Helper()
	for _, st := range codeStoreTests {
		t.Run(st.name, func(t *testing.T) { st.run(t, newStore) })
	}
}

type codeStoreTest struct {
	name string
	run  func(t *testing.T, newStore func(t *testing.T) recovery.CodeStore)
}

var codeStoreTests = []codeStoreTest{
	{"IssueCheckConsume", testIssueCheckConsume},
	{"MatchChargesNothing", testMatchChargesNothing},
	{"LatestCodeWins", testLatestCodeWins},
	{"CandidatesByKeyID", testCandidatesByKeyID},
	{"Expiry", testExpiry},
	{"NeverIssued", testNeverIssued},
	{"Revoke", testRevoke},
	{"Restore", testRestore},
	{"RestoreChargesNothing", testRestoreChargesNothing},
	{"Budget", testBudget},
	{"BudgetsSeparate", testBudgetsSeparate},
	{"LastCodeOfTheBudgetUsable", testLastCodeOfTheBudgetUsable},
	{"GuessesBounded", testGuessesBounded},
	{"LimitExceededChargesNothing", testLimitExceededChargesNothing},
	{"LimitExceededDoesNotConsume", testLimitExceededDoesNotConsume},
	{"ExpiredChargesNothing", testExpiredChargesNothing},
	{"Lock", testLock},
	{"LockedChargesNothing", testLockedChargesNothing},
	{"GateOrder", testGateOrder},
	{"ConsumedMatchResetsStreak", testConsumedMatchResetsStreak},
	{"MatchWithoutConsumeKeepsStreak", testMatchWithoutConsumeKeepsStreak},
	{"IssueKeepsStreak", testIssueKeepsStreak},
	{"ConcurrentConsume", testConcurrentConsume},
	{"ConcurrentMismatchBudget", testConcurrentMismatchBudget},
	{"ConcurrentMismatchLock", testConcurrentMismatchLock},
	{"ConcurrentIssue", testConcurrentIssue},
	{"PoolIsolation", testPoolIsolation},
	{"UserIsolation", testUserIsolation},
	{"KeysDoNotCollide", testKeysDoNotCollide},
	{"StoresIsolated", testStoresIsolated},
	{"MillisecondPrecision", testMillisecondPrecision},
	{"TimeZones", testTimeZones},
	{"CancelledContext", testCodeStoreCancelledContext},
	{"HashCopied", testHashCopied},
	{"SweepExpired", testSweepExpired},
}

// Key IDs of the keyed hashes the subtests build.
const (
	kid1 = "k1"
	kid2 = "k2"
)

// hk stands in for the engine's HMAC: a 32-byte hash of code under keyID.
func hk(keyID, code string) recovery.KeyedHash {
	sum := sha256.Sum256([]byte(keyID + "\x00" + code))
	return recovery.KeyedHash{KeyID: keyID, Hash: sum[:]}
}

// lenient limits never lock or exhaust the budget within a subtest.
var lenient = recovery.CodeLimits{Budget: 1000, FailureBudget: 1000, Window: time.Hour, MaxFailures: 1000, Cooldown: 15 * time.Minute}

// codeUser drives one (pool, user key) of a store with fixed limits and
// reports every error and unexpected outcome.
type codeUser struct {
	t      *testing.T
	s      recovery.CodeStore
	pool   string
	key    string
	limits recovery.CodeLimits
}

// newCodeUser returns a user with keys of its own: pool and user key derive
// from the subtest's name and suffix.
func newCodeUser(t *testing.T, s recovery.CodeStore, suffix string, limits recovery.CodeLimits) *codeUser {
	name := subtestName(t)
	return &codeUser{t: t, s: s, pool: "recoverytest-" + name, key: "u:" + name + "-" + suffix, limits: limits}
}

func (u *codeUser) String() string { return fmt.Sprintf("pool %q user %q", u.pool, u.key) }

func (u *codeUser) issueParams(now time.Time, code recovery.KeyedHash, expires time.Time) recovery.IssueParams {
	return recovery.IssueParams{Pool: u.pool, UserKey: u.key, Code: code, ExpiresAt: expires, Now: now, Limits: u.limits}
}

func (u *codeUser) checkParams(now time.Time, consume bool, cands []recovery.KeyedHash) recovery.CheckParams {
	return recovery.CheckParams{Pool: u.pool, UserKey: u.key, Candidates: cands, Consume: consume, Now: now, Limits: u.limits}
}

// issue calls Issue and reports an error or an invalid outcome, after
// which it returns 0.
func (u *codeUser) issue(step string, now time.Time, code recovery.KeyedHash, expires time.Time) recovery.Outcome {
	u.t.Helper()
	out, err := u.s.Issue(u.t.Context(), u.issueParams(now, code, expires))
	if err != nil {
		u.t.Errorf("%s: %s: Issue at %s: error %v", step, u, rel(now), err)
		return 0
	}
	if !validOutcome(out) {
		u.t.Errorf("%s: %s: Issue at %s returned Outcome(%d), which is none of the Outcome constants", step, u, rel(now), int(out))
		return 0
	}
	return out
}

// check calls Check and reports an error or an invalid outcome, after
// which it returns 0.
func (u *codeUser) check(step string, now time.Time, consume bool, cands ...recovery.KeyedHash) recovery.Outcome {
	u.t.Helper()
	out, err := u.s.Check(u.t.Context(), u.checkParams(now, consume, cands))
	if err != nil {
		u.t.Errorf("%s: %s: Check at %s (Consume %v): error %v", step, u, rel(now), consume, err)
		return 0
	}
	if !validOutcome(out) {
		u.t.Errorf("%s: %s: Check at %s returned Outcome(%d), which is none of the Outcome constants", step, u, rel(now), int(out))
		return 0
	}
	return out
}

// validOutcome reports whether o is one of the Outcome constants.
func validOutcome(o recovery.Outcome) bool {
	return o >= recovery.OutcomeOK && o <= recovery.OutcomeLocked
}

// wantIssue calls Issue and reports an outcome other than want.
func (u *codeUser) wantIssue(step string, want recovery.Outcome, now time.Time, code recovery.KeyedHash, expires time.Time) bool {
	u.t.Helper()
	got := u.issue(step, now, code, expires)
	if got != 0 && got != want {
		u.t.Errorf("%s: %s: Issue at %s (expiring at %s) = %v, want %v", step, u, rel(now), rel(expires), got, want)
	}
	return got == want
}

// wantCheck calls Check and reports an outcome other than want.
func (u *codeUser) wantCheck(step string, want recovery.Outcome, now time.Time, consume bool, cands ...recovery.KeyedHash) bool {
	u.t.Helper()
	got := u.check(step, now, consume, cands...)
	if got != 0 && got != want {
		u.t.Errorf("%s: %s: Check at %s (Consume %v) = %v, want %v", step, u, rel(now), consume, got, want)
	}
	return got == want
}

// restore calls Restore and reports an error.
func (u *codeUser) restore(step string, now time.Time, cands ...recovery.KeyedHash) {
	u.t.Helper()
	if err := u.s.Restore(u.t.Context(), recovery.RestoreParams{Pool: u.pool, UserKey: u.key, Candidates: cands, Now: now}); err != nil {
		u.t.Errorf("%s: %s: Restore at %s: error %v", step, u, rel(now), err)
	}
}

// revoke calls Revoke and reports an error.
func (u *codeUser) revoke(step string, code recovery.KeyedHash) {
	u.t.Helper()
	if err := u.s.Revoke(u.t.Context(), u.pool, u.key, code); err != nil {
		u.t.Errorf("%s: %s: Revoke: error %v", step, u, err)
	}
}

// testIssueCheckConsume: a match answers OK; without Consume the code stays
// usable, with Consume it is used up.
func testIssueCheckConsume(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a := hk(kid1, "123456")
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
	u.wantCheck("check A without Consume", recovery.OutcomeOK, at(time.Second), false, a)
	u.wantCheck("check A again without Consume (a match without Consume changes nothing)", recovery.OutcomeOK, at(2*time.Second), false, a)
	u.wantCheck("check A with Consume", recovery.OutcomeOK, at(3*time.Second), true, a)
	u.wantCheck("check A with Consume after it was consumed (single use)", recovery.OutcomeExpired, at(4*time.Second), true, a)
	u.wantCheck("check A without Consume after it was consumed", recovery.OutcomeExpired, at(5*time.Second), false, a)
	u.wantCheck("check a wrong code after A was consumed (no current code)", recovery.OutcomeExpired, at(6*time.Second), false, hk(kid1, "000000"))
}

// testMatchChargesNothing: matches, with or without Consume, take nothing
// from the budget.
func testMatchChargesNothing(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 3, FailureBudget: 3, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour})
	a := hk(kid1, "111111")
	exp := at(time.Hour)
	u.wantIssue("issue A (budget event 1 of 3)", recovery.OutcomeOK, t0, a, exp)
	for i := range 5 {
		u.wantCheck(fmt.Sprintf("match %d without Consume", i+1), recovery.OutcomeOK, at(time.Duration(i+1)*time.Second), false, a)
	}
	u.wantCheck("match with Consume", recovery.OutcomeOK, at(10*time.Second), true, a)
	u.wantIssue("issue B: matches charged nothing, so this is budget event 2 of 3", recovery.OutcomeOK, at(11*time.Second), hk(kid1, "222222"), exp)
	u.wantIssue("issue C: budget event 3 of 3", recovery.OutcomeOK, at(12*time.Second), hk(kid1, "333333"), exp)
	u.wantIssue("issue D: the budget of 3 is spent", recovery.OutcomeLimitExceeded, at(13*time.Second), hk(kid1, "444444"), exp)
}

// testLatestCodeWins: a new code replaces the previous one, expiry included.
func testLatestCodeWins(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	u.wantIssue("issue A expiring at t0+1h", recovery.OutcomeOK, t0, a, at(time.Hour))
	u.wantIssue("issue B expiring at t0+10m", recovery.OutcomeOK, at(time.Second), b, at(10*time.Minute))
	u.wantCheck("check A after B replaced it", recovery.OutcomeMismatch, at(2*time.Second), true, a)
	u.wantCheck("check B without Consume", recovery.OutcomeOK, at(3*time.Second), false, b)
	u.wantCheck("check B once B's own expiry passed (A's later expiry must not apply)", recovery.OutcomeExpired, at(10*time.Minute), false, b)
	u.wantCheck("check A once B expired (A must not come back)", recovery.OutcomeExpired, at(11*time.Minute), false, a)
}

// testCandidatesByKeyID: a candidate matches only with the stored KeyID and
// the whole hash; any of several candidates may match (key rotation).
func testCandidatesByKeyID(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a := hk(kid1, "123456")
	u.wantIssue("issue A under key k1", recovery.OutcomeOK, t0, a, at(time.Hour))
	now := at(time.Second)
	u.wantCheck("check A's hash bytes under key ID k2", recovery.OutcomeMismatch, now, false,
		recovery.KeyedHash{KeyID: kid2, Hash: bytes.Clone(a.Hash)})
	u.wantCheck("check A hashed with k2 only", recovery.OutcomeMismatch, now, false, hk(kid2, "123456"))
	u.wantCheck("check the first 16 bytes of A's hash", recovery.OutcomeMismatch, now, false,
		recovery.KeyedHash{KeyID: kid1, Hash: bytes.Clone(a.Hash[:16])})
	u.wantCheck("check A's hash with one byte appended", recovery.OutcomeMismatch, now, false,
		recovery.KeyedHash{KeyID: kid1, Hash: append(bytes.Clone(a.Hash), 0)})
	u.wantCheck("check an empty hash under k1", recovery.OutcomeMismatch, now, false, recovery.KeyedHash{KeyID: kid1})
	u.wantCheck("check with no candidates", recovery.OutcomeMismatch, now, false)
	u.wantCheck("check a wrong code hashed with k2 and k1", recovery.OutcomeMismatch, now, false, hk(kid2, "654321"), hk(kid1, "654321"))
	u.wantCheck("check candidates [k2 hash of A, k1 hash of A] (key rotation)", recovery.OutcomeOK, now, false, hk(kid2, "123456"), a)
	u.wantCheck("check candidates [k1 hash of A, k2 hash of A]", recovery.OutcomeOK, now, false, a, hk(kid2, "123456"))
	u.wantCheck("consume with candidates [k2 hash of A, k1 hash of A]", recovery.OutcomeOK, now, true, hk(kid2, "123456"), a)
	u.wantCheck("check A after it was consumed", recovery.OutcomeExpired, now, true, hk(kid2, "123456"), a)
}

// testExpiry: a code is valid while Now is before ExpiresAt.
func testExpiry(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a := hk(kid1, "123456")
	exp := at(10 * time.Minute)
	u.wantIssue("issue A expiring at t0+10m", recovery.OutcomeOK, t0, a, exp)
	u.wantCheck("check A 1ms before its expiry", recovery.OutcomeOK, exp.Add(-time.Millisecond), false, a)
	u.wantCheck("check A at its expiry exactly", recovery.OutcomeExpired, exp, false, a)
	u.wantCheck("check A 1ms after its expiry", recovery.OutcomeExpired, exp.Add(time.Millisecond), true, a)
	u.wantCheck("check a wrong code after expiry (nothing to compare with)", recovery.OutcomeExpired, exp.Add(time.Hour), false, hk(kid1, "000000"))
}

// testNeverIssued: a user without a code gets OutcomeExpired, and revoking
// nothing is not an error.
func testNeverIssued(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "never", lenient)
	u.wantCheck("check a user who never had a code", recovery.OutcomeExpired, t0, false, hk(kid1, "123456"))
	u.wantCheck("check with Consume for a user who never had a code", recovery.OutcomeExpired, t0, true, hk(kid1, "123456"))
	u.revoke("revoke for a user who never had a code", hk(kid1, "123456"))
	u.wantCheck("check after revoking nothing", recovery.OutcomeExpired, at(time.Second), false, hk(kid1, "123456"))
}

// testRevoke: Revoke removes the current code only when it is that code.
func testRevoke(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	exp := at(time.Hour)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, exp)
	u.revoke("revoke A", a)
	u.wantCheck("check A after it was revoked", recovery.OutcomeExpired, at(time.Second), false, a)
	u.wantIssue("issue B", recovery.OutcomeOK, at(2*time.Second), b, exp)
	u.revoke("revoke the older code A", a)
	u.wantCheck("check B after revoking the older code A", recovery.OutcomeOK, at(3*time.Second), false, b)
	u.revoke("revoke a code that was never issued", hk(kid1, "333333"))
	u.wantCheck("check B after revoking a code never issued", recovery.OutcomeOK, at(4*time.Second), false, b)
	u.revoke("revoke B's hash bytes under key ID k2", recovery.KeyedHash{KeyID: kid2, Hash: bytes.Clone(b.Hash)})
	u.wantCheck("check B after revoking its bytes under another key ID", recovery.OutcomeOK, at(5*time.Second), false, b)
	u.revoke("revoke B", b)
	u.wantCheck("check B after it was revoked", recovery.OutcomeExpired, at(6*time.Second), true, b)
}

// testRestore: Restore brings back a consumed code while it is current and
// unexpired, and nothing else: not a revoked, replaced or expired code, and
// not with the wrong candidates.
func testRestore(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	exp := at(time.Hour)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, exp)
	u.restore("restore A before it was consumed", at(time.Second), a)
	u.wantCheck("consume A (restoring an unused code changed nothing)", recovery.OutcomeOK, at(2*time.Second), true, a)
	u.wantCheck("check A after it was consumed", recovery.OutcomeExpired, at(3*time.Second), false, a)
	u.restore("restore with the wrong candidate", at(4*time.Second), b)
	u.wantCheck("check A after a restore with the wrong candidate", recovery.OutcomeExpired, at(5*time.Second), false, a)
	u.restore("restore with A's bytes under key ID k2", at(6*time.Second), recovery.KeyedHash{KeyID: kid2, Hash: bytes.Clone(a.Hash)})
	u.wantCheck("check A after a restore under another key ID", recovery.OutcomeExpired, at(7*time.Second), false, a)
	u.restore("restore A with candidates [k2, k1] (key rotation)", at(8*time.Second), hk(kid2, "111111"), a)
	u.wantCheck("consume A after it was restored", recovery.OutcomeOK, at(9*time.Second), true, a)
	u.wantCheck("check A after the second consumption (single use again)", recovery.OutcomeExpired, at(10*time.Second), false, a)

	u.restore("restore A again", at(11*time.Second), a)
	u.revoke("revoke A", a)
	u.wantCheck("check A after it was revoked", recovery.OutcomeExpired, at(12*time.Second), false, a)
	u.restore("restore A after it was revoked", at(13*time.Second), a)
	u.wantCheck("check A after restoring a revoked code", recovery.OutcomeExpired, at(14*time.Second), false, a)

	u.wantIssue("issue B", recovery.OutcomeOK, at(15*time.Second), b, exp)
	u.restore("restore the older code A after B replaced it", at(16*time.Second), a)
	u.wantCheck("check A after B replaced it", recovery.OutcomeMismatch, at(17*time.Second), false, a)
	u.wantCheck("consume B", recovery.OutcomeOK, at(18*time.Second), true, b)
	u.restore("restore the older code A after B was consumed", at(18*time.Second), a)
	u.wantCheck("check B (consumed, not restored)", recovery.OutcomeExpired, at(19*time.Second), false, b)
	u.restore("restore B at its expiry", exp, b)
	u.wantCheck("check B after a restore at its expiry", recovery.OutcomeExpired, exp.Add(-time.Millisecond), false, b)
	u.restore("restore B 1ms before its expiry", exp.Add(-time.Millisecond), b)
	u.wantCheck("check B after a restore 1ms before its expiry", recovery.OutcomeOK, exp.Add(-time.Millisecond), false, b)

	v := newCodeUser(t, u.s, "never", lenient)
	v.restore("restore for a user who never had a code", t0, a)
	v.wantCheck("check after restoring nothing", recovery.OutcomeExpired, at(time.Second), false, a)
}

// testRestoreChargesNothing: restoring changes neither budget nor the
// streak, and a restored code is single-use again.
func testRestoreChargesNothing(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", recovery.CodeLimits{Budget: 2, FailureBudget: 2, Window: time.Hour, MaxFailures: 3, Cooldown: time.Hour})
	a, wrong := hk(kid1, "111111"), hk(kid1, "999999")
	exp := at(time.Hour)
	u.wantIssue("issue A (issue 1 of 2)", recovery.OutcomeOK, t0, a, exp)
	u.wantCheck("wrong code (failure 1 of 2, streak 1)", recovery.OutcomeMismatch, at(time.Second), false, wrong)
	for i := range 3 {
		u.wantCheck("consume A", recovery.OutcomeOK, at(time.Duration(2+2*i)*time.Second), true, a)
		u.restore("restore A", at(time.Duration(3+2*i)*time.Second), a)
	}
	u.wantCheck("wrong code (failure 2 of 2; the consumption reset the streak)", recovery.OutcomeMismatch, at(10*time.Second), false, wrong)
	u.wantCheck("wrong code over the failure budget (restores charged nothing)", recovery.OutcomeLimitExceeded, at(11*time.Second), false, wrong)
	w := newCodeUser(t, u.s, "2", recovery.CodeLimits{Budget: 2, FailureBudget: 2, Window: time.Hour, MaxFailures: 3, Cooldown: time.Hour})
	w.wantIssue("issue A (issue 1 of 2)", recovery.OutcomeOK, t0, a, exp)
	for i := range 3 {
		w.wantCheck("consume A", recovery.OutcomeOK, at(time.Duration(1+2*i)*time.Second), true, a)
		w.restore("restore A", at(time.Duration(2+2*i)*time.Second), a)
	}
	w.wantIssue("issue (issue 2 of 2 unless restores were charged)", recovery.OutcomeOK, at(10*time.Second), hk(kid1, "222222"), exp)
	w.wantIssue("issue over budget", recovery.OutcomeLimitExceeded, at(11*time.Second), hk(kid1, "333333"), exp)
}

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

// testHashCopied: the store keeps its own copy of the hash it is given.
func testHashCopied(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	u := newCodeUser(t, newStore(t), "1", lenient)
	a := hk(kid1, "111111")
	buf := bytes.Clone(a.Hash)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, recovery.KeyedHash{KeyID: kid1, Hash: buf}, at(time.Hour))
	for i := range buf {
		buf[i] ^= 0xff
	}
	u.wantCheck("check the inverted bytes the caller left in the slice it passed to Issue", recovery.OutcomeMismatch, at(time.Second), false, recovery.KeyedHash{KeyID: kid1, Hash: bytes.Clone(buf)})
	u.wantCheck("consume A after the caller overwrote the slice it passed to Issue", recovery.OutcomeOK, at(2*time.Second), true, a)
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
