package memstore

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// swapEqual replaces equal for the rest of the test. The tests of this
// package do not run in parallel, so nothing else reads equal meanwhile.
func swapEqual(t *testing.T, f func(a, b []byte) bool) {
	old := equal
	equal = f
	t.Cleanup(func() { equal = old })
}

// TestHashesComparedInConstantTime shows that every comparison of a stored
// hash goes through equal, which is crypto/subtle.ConstantTimeCompare: Check
// and Revoke call it, and their verdict follows what it answers alone.
func TestHashesComparedInConstantTime(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	limits := recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 100, Cooldown: time.Hour}
	sum := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	right := recovery.KeyedHash{KeyID: "k1", Hash: sum("right")}
	wrong := recovery.KeyedHash{KeyID: "k1", Hash: sum("wrong")}
	otherKey := recovery.KeyedHash{KeyID: "k2", Hash: sum("right")}

	s := NewCodeStore()
	issue := func(code recovery.KeyedHash) {
		t.Helper()
		if out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: code, ExpiresAt: now.Add(time.Hour), Now: now, Limits: limits}); err != nil || out != recovery.OutcomeOK {
			t.Fatalf("Issue: %v, %v", out, err)
		}
	}
	check := func(cands ...recovery.KeyedHash) recovery.Outcome {
		t.Helper()
		out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: cands, Now: now, Limits: limits})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return out
	}

	if !equal(right.Hash, bytes.Clone(right.Hash)) || equal(right.Hash, wrong.Hash) || equal(right.Hash, right.Hash[:16]) {
		t.Fatal("equal does not compare hashes correctly")
	}

	type call struct{ a, b []byte }
	var calls []call
	real := equal
	swapEqual(t, func(a, b []byte) bool { calls = append(calls, call{a, b}); return real(a, b) })
	issue(right)
	for _, c := range []struct {
		name  string
		cands []recovery.KeyedHash
		want  recovery.Outcome
		calls int
	}{
		{"right code", []recovery.KeyedHash{right}, recovery.OutcomeOK, 1},
		{"wrong code", []recovery.KeyedHash{wrong}, recovery.OutcomeMismatch, 1},
		{"right bytes under another key ID (not compared)", []recovery.KeyedHash{otherKey}, recovery.OutcomeMismatch, 0},
		{"[other key ID, wrong, right]", []recovery.KeyedHash{otherKey, wrong, right}, recovery.OutcomeOK, 2},
	} {
		calls = nil
		if got := check(c.cands...); got != c.want {
			t.Errorf("Check(%s) = %v, want %v", c.name, got, c.want)
		}
		if len(calls) != c.calls {
			t.Errorf("Check(%s) called equal %d times, want %d", c.name, len(calls), c.calls)
		}
		for _, cl := range calls {
			if !bytes.Equal(cl.a, right.Hash) && !bytes.Equal(cl.b, right.Hash) {
				t.Errorf("Check(%s) called equal without the stored hash", c.name)
			}
		}
	}
	calls = nil
	if err := s.Revoke(ctx, "p", "u:1", wrong); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Errorf("Revoke called equal %d times, want 1", len(calls))
	}

	// The verdict is equal's alone: no other comparison can override it.
	swapEqual(t, func(a, b []byte) bool { return true })
	if got := check(wrong); got != recovery.OutcomeOK {
		t.Errorf("with equal always true, Check(wrong code) = %v, want ok", got)
	}
	swapEqual(t, func(a, b []byte) bool { return false })
	if got := check(right); got != recovery.OutcomeMismatch {
		t.Errorf("with equal always false, Check(right code) = %v, want mismatch", got)
	}
	if err := s.Revoke(ctx, "p", "u:1", right); err != nil {
		t.Fatal(err)
	}
	swapEqual(t, real)
	if got := check(right); got != recovery.OutcomeOK {
		t.Errorf("Check(right code) after Revoke with equal always false = %v, want ok (the revoke must not have matched)", got)
	}
}
