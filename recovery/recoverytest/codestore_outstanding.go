package recoverytest

import (
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// testOutstanding: a store that is a recovery.CodeInspector says a code is
// outstanding exactly while Check would still accept it, and reading
// changes nothing. Stores without the ability skip it.
func testOutstanding(t *testing.T, newStore func(t *testing.T) recovery.CodeStore) {
	s := newStore(t)
	in, ok := s.(recovery.CodeInspector)
	if !ok {
		t.Skipf("%T is not a recovery.CodeInspector", s)
	}
	u := newCodeUser(t, s, "1", lenient)
	want := func(step string, now time.Time, code recovery.KeyedHash, want bool) {
		t.Helper()
		got, err := in.Outstanding(t.Context(), u.pool, u.key, code, now)
		if err != nil || got != want {
			t.Errorf("%s: %s: Outstanding at %s = %v, %v; want %v", step, u, rel(now), got, err, want)
		}
	}
	a, b := hk(kid1, "111111"), hk(kid1, "222222")
	want("no record", t0, a, false)
	u.wantIssue("issue A", recovery.OutcomeOK, t0, a, at(time.Hour))
	want("A, current", at(time.Second), a, true)
	want("A's bytes under key ID k2", at(time.Second), recovery.KeyedHash{KeyID: kid2, Hash: a.Hash}, false)
	want("B, never issued", at(time.Second), b, false)
	want("A, at its expiry", at(time.Hour), a, false)
	u.wantCheck("A is still usable: reading changed nothing", recovery.OutcomeOK, at(2*time.Second), false, a)
	u.wantIssue("issue B", recovery.OutcomeOK, at(3*time.Second), b, at(time.Hour))
	want("A, replaced by B", at(4*time.Second), a, false)
	want("B, current", at(4*time.Second), b, true)
	u.wantCheck("consume B", recovery.OutcomeOK, at(5*time.Second), true, b)
	want("B, used", at(6*time.Second), b, false)
	u.restore("restore B", at(7*time.Second), b)
	want("B, restored", at(8*time.Second), b, true)
	u.revoke("revoke B", b)
	want("B, revoked", at(9*time.Second), b, false)
}
