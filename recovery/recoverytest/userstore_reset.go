package recoverytest

import (
	"errors"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// testRequirePasswordReset: the status becomes RESET_REQUIRED (or, for a
// store that keeps no status, the hash is cleared), nothing else changes,
// for that user only; repeating it is harmless, SetPassword ends it, and an
// unknown sub is ErrUserNotFound.
func testRequirePasswordReset(t *testing.T, s recovery.UserStore, seed []Seed) {
	r, ok := s.(recovery.PasswordResetRequirer)
	if !ok {
		t.Skipf("%T does not implement recovery.PasswordResetRequirer", s)
	}
	reader, _ := s.(recovery.PasswordHashReader)
	alice, aliceB := seed[seedAlice].User, seed[seedAliceB].User
	for range 2 { // the second call finds the user already RESET_REQUIRED
		if err := r.RequirePasswordReset(t.Context(), poolA, alice.Sub); err != nil {
			t.Fatalf("RequirePasswordReset(%q, alice's sub): %v", poolA, err)
		}
	}
	got, err := s.FindUser(t.Context(), poolA, query("alice"))
	if err != nil {
		t.Fatalf("FindUser(alice) after RequirePasswordReset: %v", err)
	}
	want := alice
	want.Status = recovery.StatusResetRequired
	if got.Status != recovery.StatusResetRequired {
		// A store without a status must have cleared the hash instead.
		want.Status = got.Status
		if reader == nil {
			t.Errorf("FindUser(alice) after RequirePasswordReset: status %q, want RESET_REQUIRED", got.Status)
		} else if h, err := reader.StoredPasswordHash(t.Context(), poolA, alice.Sub); err != nil || h != "" {
			t.Errorf("after RequirePasswordReset: status %q and password hash %q, %v; want RESET_REQUIRED, or no hash for a store that keeps no status", got.Status, h, err)
		}
	}
	if d := userDiff(want, got); d != "" {
		t.Errorf("FindUser(alice) after RequirePasswordReset changed more than the status: %s", d)
	}
	wantFound(t, s, poolB, "alice", aliceB) // the same username in another pool is untouched
	wantFound(t, s, poolA, "Ünïcode", seed[seedUnicode].User)

	setPassword(t, s, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-2", Status: recovery.StatusConfirmed})
	wantFound(t, s, poolA, "alice", alice)
	if reader != nil {
		if h, err := reader.StoredPasswordHash(t.Context(), poolA, alice.Sub); err != nil || h != "hash-alice-2" {
			t.Errorf("StoredPasswordHash after the reset's SetPassword = %q, %v; want the new hash", h, err)
		}
	}

	for _, c := range []struct{ pool, sub, why string }{
		{poolA, "ffffffff-0000-4000-8000-000000000000", "no user has that sub"},
		{poolA, "Alice", "a username is not a sub"},
		{poolA, aliceB.Sub, "that sub is in another pool"},
		{poolMissing, alice.Sub, "the pool has no users"},
	} {
		if err := r.RequirePasswordReset(t.Context(), c.pool, c.sub); !errors.Is(err, recovery.ErrUserNotFound) {
			t.Errorf("RequirePasswordReset(%q, %q): error %v, want an error wrapping ErrUserNotFound: %s", c.pool, c.sub, err, c.why)
		}
	}
	wantFound(t, s, poolB, "alice", aliceB)
}
