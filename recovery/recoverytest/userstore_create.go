package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// creator returns s as a recovery.UserCreator or skips the subtest.
func creator(t *testing.T, s recovery.UserStore) recovery.UserCreator {
	t.Helper()
	c, ok := s.(recovery.UserCreator)
	if !ok {
		t.Skipf("%T does not implement recovery.UserCreator", s)
	}
	return c
}

func testCreateUser(t *testing.T, s recovery.UserStore, seed []Seed) {
	c := creator(t, s)
	carol := recovery.User{
		Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "Carol",
		Status: recovery.StatusResetRequired,
		Attributes: map[string]string{
			recovery.AttrEmail: "carol@example.com", recovery.AttrEmailVerified: "true",
			recovery.AttrPhoneNumber: "+15555550133", recovery.AttrPhoneNumberVerified: "true",
		},
	}
	in := carol
	in.Attributes = maps.Clone(carol.Attributes)
	got, err := c.CreateUser(t.Context(), poolA, in, "hash-carol-1")
	if err != nil {
		t.Fatalf("CreateUser(%q, %q): error %v", poolA, carol.Username, err)
	}
	if d := userDiff(carol, got); d != "" {
		t.Errorf("CreateUser returned a user unlike the one given: %s", d)
	}
	in.Attributes[recovery.AttrEmail] = "mallory@example.com" // the caller's map, after the call
	for _, id := range []string{"carol", "CAROL", carol.Sub, "Carol@Example.com", "+15555550133"} {
		wantFound(t, s, poolA, id, carol)
	}
	wantNotFound(t, s, poolA, "mallory@example.com", "the caller changed its own map after CreateUser returned")
	wantFound(t, s, poolA, "alice", seed[seedAlice].User)
	if h, ok := s.(recovery.PasswordHistory); ok {
		recent(t, h, poolA, carol.Sub, 5, "hash-carol-1")
	}

	// Without a Sub the store assigns one, different each time.
	subs := map[string]bool{}
	for _, name := range []string{"frank", "grace"} {
		u := recovery.User{Username: name, Status: recovery.StatusConfirmed}
		got, err := c.CreateUser(t.Context(), poolA, u, "")
		if err != nil {
			t.Errorf("CreateUser(%q, %q) without a Sub: error %v", poolA, name, err)
			continue
		}
		if got.Sub == "" {
			t.Errorf("CreateUser(%q, %q) without a Sub returned a user without a Sub", poolA, name)
			continue
		}
		if subs[got.Sub] {
			t.Errorf("CreateUser assigned sub %s twice", got.Sub)
		}
		subs[got.Sub] = true
		u.Sub = got.Sub
		wantFound(t, s, poolA, name, u)
		wantFound(t, s, poolA, got.Sub, u)
	}

	// Usernames and aliases are unique per pool only.
	dup := recovery.User{Sub: "0f0f0f00-0000-4000-8000-00000000000f", Username: "Alice", Status: recovery.StatusConfirmed,
		Attributes: map[string]string{recovery.AttrEmail: "carol@example.com", recovery.AttrEmailVerified: "true"}}
	if _, err := c.CreateUser(t.Context(), poolB+"-new", dup, ""); err != nil {
		t.Errorf("CreateUser in a new pool of a username and email used in other pools: error %v", err)
	} else {
		wantFound(t, s, poolB+"-new", "alice", dup)
		wantFound(t, s, poolB+"-new", "carol@example.com", dup)
	}
	wantFound(t, s, poolA, "alice", seed[seedAlice].User)
	wantFound(t, s, poolA, "carol@example.com", carol)
	wantFound(t, s, poolB, "alice", seed[seedAliceB].User)
}

func testCreateUserConflicts(t *testing.T, s recovery.UserStore, seed []Seed) {
	c := creator(t, s)
	alice := seed[seedAlice].User
	subs := 0
	newUser := func(username string, attrs ...string) recovery.User {
		subs++
		u := recovery.User{Sub: fmt.Sprintf("0f0f0f00-0000-4000-8000-0000000000%02x", subs), Username: username, Status: recovery.StatusConfirmed, Attributes: map[string]string{}}
		for i := 0; i+1 < len(attrs); i += 2 {
			u.Attributes[attrs[i]] = attrs[i+1]
		}
		return u
	}
	for _, c2 := range []struct {
		u    recovery.User
		want error
		why  string
	}{
		{newUser("ALICE"), recovery.ErrUsernameExists, "alice exists, in another case"},
		{newUser("ＡＬＩＣＥ"), recovery.ErrUsernameExists, "alice exists, in full width"},
		{newUser("ÜNÏCODE"), recovery.ErrUsernameExists, "Ünïcode exists, in another case"},
		{newUser("dave", recovery.AttrEmail, "ALICE@example.com", recovery.AttrEmailVerified, "true"), recovery.ErrAliasExists, "alice's verified email, in another case"},
		{newUser("dave", recovery.AttrPhoneNumber, "+15555550100", recovery.AttrPhoneNumberVerified, "true"), recovery.ErrAliasExists, "alice's verified phone number"},
	} {
		_, err := c.CreateUser(t.Context(), poolA, c2.u, "hash-x")
		if !errors.Is(err, c2.want) {
			t.Errorf("CreateUser(%q, %q, %v): error %v, want an error wrapping %v: %s", poolA, c2.u.Username, c2.u.Attributes, err, c2.want, c2.why)
		}
	}
	wantNotFound(t, s, poolA, "dave", "every creation of dave was refused")
	for i := 1; i <= subs; i++ {
		wantNotFound(t, s, poolA, fmt.Sprintf("0f0f0f00-0000-4000-8000-0000000000%02x", i), "every creation with that sub was refused")
	}
	wantFound(t, s, poolA, "alice", alice)
	wantFound(t, s, poolA, "alice@example.com", alice)
	wantFound(t, s, poolA, "+15555550100", alice)

	// preferred_username identifies a user, so it cannot be shared either;
	// the contract does not say which error that is.
	if _, err := c.CreateUser(t.Context(), poolA, newUser("dave", recovery.AttrPreferredUsername, "ALLY"), ""); err == nil {
		t.Errorf("CreateUser of a user whose preferred_username is alice's (in another case) succeeded; then FindUser(%q) matches two users", "ally")
	}

	// An unverified email or phone is not an alias: it may repeat one.
	erin := newUser("erin", recovery.AttrEmail, "alice@example.com", recovery.AttrEmailVerified, "false",
		recovery.AttrPhoneNumber, "+15555550100")
	if _, err := c.CreateUser(t.Context(), poolA, erin, ""); err != nil {
		t.Errorf("CreateUser of a user whose unverified email and phone are alice's verified ones: error %v, want success", err)
	} else {
		wantFound(t, s, poolA, "erin", erin)
	}
	wantFound(t, s, poolA, "alice@example.com", alice)
	wantFound(t, s, poolA, "+15555550100", alice)
}

func testCreateUserConcurrent(t *testing.T, s recovery.UserStore, _ []Seed) {
	const n = 20
	c := creator(t, s)
	sub := func(i int) string { return fmt.Sprintf("1a1a1a00-0000-4000-8000-0000000000%02x", i) }
	forms := []string{"zed", "ZED", "Zed", "ｚｅｄ"}
	users, errs := concurrently(t, n, func(ctx context.Context, i int) (recovery.User, error) {
		return c.CreateUser(ctx, poolA, recovery.User{Sub: sub(i), Username: forms[i%len(forms)], Status: recovery.StatusConfirmed}, "")
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%d concurrent CreateUser calls of username zed (in several forms): calls %d and %d both succeeded", n, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, recovery.ErrUsernameExists):
			t.Errorf("%d concurrent CreateUser calls of username zed, call %d: error %v, want nil for one call and ErrUsernameExists for the others", n, i, err)
		}
	}
	if winner < 0 {
		t.Errorf("%d concurrent CreateUser calls of username zed: none succeeded", n)
	} else {
		wantFound(t, s, poolA, "zed", users[winner])
	}

	// The same for a verified email under different usernames.
	users, errs = concurrently(t, n, func(ctx context.Context, i int) (recovery.User, error) {
		return c.CreateUser(ctx, poolA, recovery.User{Sub: sub(n + i), Username: fmt.Sprintf("yan%d", i), Status: recovery.StatusConfirmed,
			Attributes: map[string]string{recovery.AttrEmail: "yan@example.com", recovery.AttrEmailVerified: "true"}}, "")
	})
	winner = -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%d concurrent CreateUser calls with verified email yan@example.com: calls %d and %d both succeeded", n, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, recovery.ErrAliasExists):
			t.Errorf("%d concurrent CreateUser calls with verified email yan@example.com, call %d: error %v, want nil for one call and ErrAliasExists for the others", n, i, err)
		}
	}
	if winner < 0 {
		t.Errorf("%d concurrent CreateUser calls with verified email yan@example.com: none succeeded", n)
	} else {
		wantFound(t, s, poolA, "yan@example.com", users[winner])
	}
}
