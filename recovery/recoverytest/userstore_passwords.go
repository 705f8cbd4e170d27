package recoverytest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// setPassword calls SetPassword and reports an error.
func setPassword(t *testing.T, s recovery.UserStore, pool string, c recovery.PasswordChange) {
	t.Helper()
	if err := s.SetPassword(t.Context(), pool, c); err != nil {
		t.Errorf("SetPassword(%q, sub %s): error %v", pool, c.Sub, err)
	}
}

func testSetPassword(t *testing.T, s recovery.UserStore, seed []Seed) {
	alice, bob := seed[seedAlice].User, seed[seedBob].User
	setPassword(t, s, poolA, recovery.PasswordChange{Sub: bob.Sub, PasswordHash: "hash-bob-2", Status: recovery.StatusConfirmed})
	want := bob
	want.Status = recovery.StatusConfirmed
	wantFound(t, s, poolA, "bob", want) // the status changed, nothing else did
	wantFound(t, s, poolA, "alice", alice)
	wantFound(t, s, poolB, "alice", seed[seedAliceB].User)

	setPassword(t, s, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-2", Status: recovery.StatusConfirmed})
	wantFound(t, s, poolA, "alice", alice)

	for _, c := range []struct{ pool, sub, why string }{
		{poolA, "ffffffff-0000-4000-8000-000000000000", "no user has that sub"},
		{poolA, seed[seedAliceB].User.Sub, "that sub is in another pool"},
		{poolB, alice.Sub, "that sub is in another pool"},
		{poolMissing, alice.Sub, "the pool has no users"},
	} {
		err := s.SetPassword(t.Context(), c.pool, recovery.PasswordChange{Sub: c.sub, PasswordHash: "hash-x", Status: recovery.StatusConfirmed})
		if !errors.Is(err, recovery.ErrUserNotFound) {
			t.Errorf("SetPassword(%q, sub %s): error %v, want an error wrapping ErrUserNotFound: %s", c.pool, c.sub, err, c.why)
		}
	}
	wantFound(t, s, poolB, "alice", seed[seedAliceB].User)
}

// testStoredPasswordHash: the hash is read by sub exactly, and follows
// SetPassword.
func testStoredPasswordHash(t *testing.T, s recovery.UserStore, seed []Seed) {
	r, ok := s.(recovery.PasswordHashReader)
	if !ok {
		t.Skipf("%T does not implement recovery.PasswordHashReader", s)
	}
	read := func(pool, sub string) (string, error) {
		t.Helper()
		return r.StoredPasswordHash(t.Context(), pool, sub)
	}
	alice, bob := seed[seedAlice].User, seed[seedBob].User
	if h, err := read(poolA, alice.Sub); err != nil || h != seed[seedAlice].PasswordHash {
		t.Errorf("StoredPasswordHash(alice's sub) = %q, %v; want %q", h, err, seed[seedAlice].PasswordHash)
	}
	if h, err := read(poolA, bob.Sub); err != nil || h != "" {
		t.Errorf("StoredPasswordHash(bob's sub), who has no password = %q, %v; want \"\"", h, err)
	}
	setPassword(t, s, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-2", Status: recovery.StatusConfirmed})
	if h, err := read(poolA, alice.Sub); err != nil || h != "hash-alice-2" {
		t.Errorf("StoredPasswordHash after SetPassword = %q, %v; want the new hash", h, err)
	}
	for _, c := range []struct{ pool, sub, why string }{
		{poolA, "Alice", "a username is not a sub"},
		{poolA, "alice@example.com", "an alias is not a sub"},
		{poolA, strings.ToUpper(alice.Sub), "subs match exactly"},
		{poolB, alice.Sub, "that sub is in another pool"},
		{poolMissing, alice.Sub, "the pool has no users"},
	} {
		if h, err := read(c.pool, c.sub); !errors.Is(err, recovery.ErrUserNotFound) {
			t.Errorf("StoredPasswordHash(%q, %q) = %q, %v; want an error wrapping ErrUserNotFound: %s", c.pool, c.sub, h, err, c.why)
		}
	}
}

// recent calls RecentPasswordHashes and reports an error or a result other
// than want.
func recent(t *testing.T, h recovery.PasswordHistory, pool, sub string, n int, want ...string) {
	t.Helper()
	got, err := h.RecentPasswordHashes(t.Context(), pool, sub, n)
	if err != nil {
		t.Errorf("RecentPasswordHashes(%q, %s, %d): error %v", pool, sub, n, err)
		return
	}
	if len(got) != len(want) || !slices.Equal(got, want) {
		t.Errorf("RecentPasswordHashes(%q, %s, %d) = %q, want %q (newest first)", pool, sub, n, got, want)
	}
}

func testPasswordHistory(t *testing.T, s recovery.UserStore, seed []Seed) {
	h, ok := s.(recovery.PasswordHistory)
	if !ok {
		t.Skipf("%T does not implement recovery.PasswordHistory", s)
	}
	alice, bob, aliceB := seed[seedAlice].User, seed[seedBob].User, seed[seedAliceB].User
	recent(t, h, poolA, alice.Sub, 5, "hash-alice-1")
	recent(t, h, poolA, bob.Sub, 5) // bob has no password
	setPassword(t, s, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-2", Status: recovery.StatusConfirmed})
	setPassword(t, s, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-3", Status: recovery.StatusConfirmed})
	recent(t, h, poolA, alice.Sub, 2, "hash-alice-3", "hash-alice-2")
	recent(t, h, poolA, alice.Sub, 1, "hash-alice-3")
	recent(t, h, poolA, alice.Sub, 10, "hash-alice-3", "hash-alice-2", "hash-alice-1")
	setPassword(t, s, poolA, recovery.PasswordChange{Sub: bob.Sub, PasswordHash: "hash-bob-2", Status: recovery.StatusConfirmed})
	recent(t, h, poolA, bob.Sub, 5, "hash-bob-2")
	recent(t, h, poolB, aliceB.Sub, 5, "hash-alice-b-1")
}
