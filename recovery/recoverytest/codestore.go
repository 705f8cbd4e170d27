package recoverytest

import (
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
	{"Outstanding", testOutstanding},
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
