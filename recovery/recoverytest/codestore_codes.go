package recoverytest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

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
