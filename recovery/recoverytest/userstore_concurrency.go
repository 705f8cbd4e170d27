package recoverytest

import (
	"context"
	"fmt"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

func testUserStoreCancelledContext(t *testing.T, s recovery.UserStore, seed []Seed) {
	alice := seed[seedAlice].User
	ctx := cancelled(t)
	var got recovery.User
	if callCancelled(t, "FindUser", func() (err error) {
		got, err = s.FindUser(ctx, poolA, query("alice"))
		return err
	}) {
		if d := userDiff(alice, got); d != "" {
			t.Errorf("FindUser with a cancelled context returned no error and the wrong user: %s", d)
		}
	}
	callCancelled(t, "SetPassword", func() error {
		return s.SetPassword(ctx, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "hash-alice-2", Status: recovery.StatusConfirmed})
	})
	if h, ok := s.(recovery.PasswordHistory); ok {
		callCancelled(t, "RecentPasswordHashes", func() error {
			_, err := h.RecentPasswordHashes(ctx, poolA, alice.Sub, 3)
			return err
		})
	}
	if c, ok := s.(recovery.UserCreator); ok {
		created := callCancelled(t, "CreateUser", func() error {
			_, err := c.CreateUser(ctx, poolA, recovery.User{Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "carol", Status: recovery.StatusConfirmed}, "")
			return err
		})
		if created {
			wantFound(t, s, poolA, "carol", recovery.User{Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "carol", Status: recovery.StatusConfirmed})
		}
	}
	wantFound(t, s, poolA, "alice", alice)
}

// testUserStoreConcurrentUse runs lookups and password changes at once; with
// -race it finds unsynchronized state.
func testUserStoreConcurrentUse(t *testing.T, s recovery.UserStore, seed []Seed) {
	const n = 20
	alice := seed[seedAlice].User
	_, errs := concurrently(t, n, func(ctx context.Context, i int) (struct{}, error) {
		if i%2 == 0 {
			u, err := s.FindUser(ctx, poolA, query("ALICE@example.com"))
			if err == nil && u.Sub != alice.Sub {
				err = fmt.Errorf("found sub %s, want %s", u.Sub, alice.Sub)
			}
			return struct{}{}, err
		}
		return struct{}{}, s.SetPassword(ctx, poolA, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: fmt.Sprintf("hash-alice-c%d", i), Status: recovery.StatusConfirmed})
	})
	reportErrors(t, fmt.Sprintf("%d concurrent FindUser and SetPassword calls", n), errs)
	wantFound(t, s, poolA, "alice", alice)

	h, ok := s.(recovery.PasswordHistory)
	if !ok {
		return
	}
	got, err := h.RecentPasswordHashes(t.Context(), poolA, alice.Sub, n/2+1)
	if err != nil {
		t.Errorf("RecentPasswordHashes after concurrent SetPassword calls: error %v", err)
		return
	}
	want := map[string]bool{}
	for i := 1; i < n; i += 2 {
		want[fmt.Sprintf("hash-alice-c%d", i)] = true
	}
	if len(got) != n/2+1 || got[n/2] != seed[seedAlice].PasswordHash {
		t.Errorf("RecentPasswordHashes(n=%d) after %d concurrent SetPassword calls = %q, want those %d hashes in some order, then %q", n/2+1, n/2, got, n/2, seed[seedAlice].PasswordHash)
		return
	}
	for _, h := range got[:n/2] {
		if !want[h] {
			t.Errorf("RecentPasswordHashes after concurrent SetPassword calls = %q: %q missing or repeated", got, h)
		}
		delete(want, h)
	}
}
