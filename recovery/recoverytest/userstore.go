package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// Seed is a user the factory given to TestUserStore puts in the store it
// returns.
type Seed struct {
	// Pool is the user pool the user belongs to.
	Pool string
	// User is the user to store, exactly as FindUser must return it (a store
	// may return attributes beyond those given here).
	User recovery.User
	// PasswordHash is the user's current password hash, "" for none. A store
	// that implements recovery.PasswordHistory counts it as the newest entry
	// of the user's history.
	PasswordHash string
}

// TestUserStore checks that the recovery.UserStore made by newStore keeps
// the contract documented on recovery.UserStore: lookup by username, sub,
// preferred_username, verified email and verified phone_number after
// recovery.FoldIdentifier (but not by unverified aliases), ErrUserNotFound,
// pool isolation, copies of returned users, SetPassword and cancelled
// contexts; and, when the store implements them, recovery.PasswordHistory,
// recovery.PasswordHashReader and recovery.UserCreator (duplicate
// usernames and aliases, assigned subs, concurrent creation).
//
// Each subtest calls newStore once with the seed users, in two pools, and
// uses only the store it got. The factory must return a store holding
// exactly those users, isolated from every other store it returned (for a
// networked backend: a fresh schema or key prefix on the same server). Run
// the suite with -race.
func TestUserStore(t *testing.T, newStore func(t *testing.T, seed []Seed) recovery.UserStore) {
	t.Helper()
	for _, st := range userStoreTests {
		t.Run(st.name, func(t *testing.T) {
			seeds := seedUsers()
			st.run(t, newStore(t, seeds), seedUsers())
		})
	}
}

type userStoreTest struct {
	name string
	run  func(t *testing.T, s recovery.UserStore, seed []Seed)
}

var userStoreTests = []userStoreTest{
	{"FindByUsername", testFindByUsername},
	{"FindByUsernameUnicode", testFindByUsernameUnicode},
	{"FindBySub", testFindBySub},
	{"FindByPreferredUsername", testFindByPreferredUsername},
	{"FindByVerifiedEmail", testFindByVerifiedEmail},
	{"FindByVerifiedPhone", testFindByVerifiedPhone},
	{"UnverifiedAliasesNotFound", testUnverifiedAliasesNotFound},
	{"NotFound", testUserNotFound},
	{"PoolIsolation", testUserPoolIsolation},
	{"ReturnedUserIsCopy", testReturnedUserIsCopy},
	{"SetPassword", testSetPassword},
	{"CancelledContext", testUserStoreCancelledContext},
	{"ConcurrentUse", testUserStoreConcurrentUse},
	{"PasswordHistory", testPasswordHistory},
	{"StoredPasswordHash", testStoredPasswordHash},
	{"CreateUser", testCreateUser},
	{"CreateUserConflicts", testCreateUserConflicts},
	{"CreateUserConcurrent", testCreateUserConcurrent},
}

// The pools of the seed users.
const (
	poolA       = "recoverytest-users-a"
	poolB       = "recoverytest-users-b"
	poolMissing = "recoverytest-users-missing"
)

// Indexes of the seed users in seedUsers().
const (
	seedAlice   = iota // poolA, every alias verified
	seedUnicode        // poolA, non-ASCII username, aliases unverified
	seedBob            // poolA, disabled, no password, aliases without a verified flag
	seedAliceB         // poolB, same username and email as alice
)

// seedUsers returns a fresh copy of the users every subtest starts with.
func seedUsers() []Seed {
	return []Seed{
		seedAlice: {Pool: poolA, PasswordHash: "hash-alice-1", User: recovery.User{
			Sub: "0a11ce00-0000-4000-8000-00000000000a", Username: "Alice", Enabled: true,
			Status: recovery.StatusConfirmed, EmailMFA: true,
			Attributes: map[string]string{
				recovery.AttrEmail: "Alice@Example.COM", recovery.AttrEmailVerified: "true",
				recovery.AttrPhoneNumber: "+15555550100", recovery.AttrPhoneNumberVerified: "true",
				recovery.AttrPreferredUsername: "Ally", recovery.AttrLocale: "de",
				"custom:team": "blue",
			},
		}},
		seedUnicode: {Pool: poolA, PasswordHash: "hash-unicode-1", User: recovery.User{
			Sub: "0b0b0b00-0000-4000-8000-00000000000b", Username: "Ünïcode", Enabled: true,
			Status: recovery.StatusForceChangePassword,
			Attributes: map[string]string{
				recovery.AttrEmail: "uni@example.com", recovery.AttrEmailVerified: "false",
				recovery.AttrPhoneNumber: "+15555550111", recovery.AttrPhoneNumberVerified: "false",
			},
		}},
		seedBob: {Pool: poolA, User: recovery.User{
			Sub: "0c0c0c00-0000-4000-8000-00000000000c", Username: "bob", Enabled: false,
			Status: recovery.StatusResetRequired, SMSMFA: true,
			Attributes: map[string]string{
				recovery.AttrEmail: "bob@example.com", recovery.AttrPhoneNumber: "+15555550122",
			},
		}},
		seedAliceB: {Pool: poolB, PasswordHash: "hash-alice-b-1", User: recovery.User{
			Sub: "0d0d0d00-0000-4000-8000-00000000000d", Username: "alice", Enabled: true,
			Status: recovery.StatusConfirmed,
			Attributes: map[string]string{
				recovery.AttrEmail: "alice@example.com", recovery.AttrEmailVerified: "true",
			},
		}},
	}
}

// query is what the engine passes to FindUser for an identifier.
func query(identifier string) recovery.UserQuery {
	return recovery.UserQuery{Identifier: identifier, Key: recovery.FoldIdentifier(identifier)}
}

// userDiff describes how got differs from want, "" if it does not: every
// field equal, every attribute of want present with its value.
func userDiff(want, got recovery.User) string {
	var d []string
	if got.Sub != want.Sub {
		d = append(d, fmt.Sprintf("Sub %q, want %q", got.Sub, want.Sub))
	}
	if got.Username != want.Username {
		d = append(d, fmt.Sprintf("Username %q, want %q", got.Username, want.Username))
	}
	if got.Enabled != want.Enabled {
		d = append(d, fmt.Sprintf("Enabled %v, want %v", got.Enabled, want.Enabled))
	}
	if got.Status != want.Status {
		d = append(d, fmt.Sprintf("Status %q, want %q", got.Status, want.Status))
	}
	if got.SMSMFA != want.SMSMFA || got.EmailMFA != want.EmailMFA {
		d = append(d, fmt.Sprintf("SMSMFA, EmailMFA %v, %v, want %v, %v", got.SMSMFA, got.EmailMFA, want.SMSMFA, want.EmailMFA))
	}
	for _, k := range slices.Sorted(maps.Keys(want.Attributes)) {
		if v, ok := got.Attributes[k]; !ok {
			d = append(d, fmt.Sprintf("attribute %s missing, want %q", k, want.Attributes[k]))
		} else if v != want.Attributes[k] {
			d = append(d, fmt.Sprintf("attribute %s = %q, want %q", k, v, want.Attributes[k]))
		}
	}
	return strings.Join(d, "; ")
}

// wantFound looks identifier up in pool and reports an error or a user
// other than want.
func wantFound(t *testing.T, s recovery.UserStore, pool, identifier string, want recovery.User) (recovery.User, bool) {
	t.Helper()
	got, err := s.FindUser(t.Context(), pool, query(identifier))
	if err != nil {
		t.Errorf("FindUser(%q, %q): error %v, want user %q (sub %s)", pool, identifier, err, want.Username, want.Sub)
		return got, false
	}
	if d := userDiff(want, got); d != "" {
		t.Errorf("FindUser(%q, %q) returned the wrong user: %s", pool, identifier, d)
		return got, false
	}
	return got, true
}

// wantNotFound looks identifier up in pool and reports anything but an
// error wrapping recovery.ErrUserNotFound.
func wantNotFound(t *testing.T, s recovery.UserStore, pool, identifier, why string) {
	t.Helper()
	got, err := s.FindUser(t.Context(), pool, query(identifier))
	switch {
	case err == nil:
		t.Errorf("FindUser(%q, %q) found %q (sub %s), want an error wrapping ErrUserNotFound: %s", pool, identifier, got.Username, got.Sub, why)
	case !errors.Is(err, recovery.ErrUserNotFound):
		t.Errorf("FindUser(%q, %q): error %v, want an error wrapping ErrUserNotFound: %s", pool, identifier, err, why)
	}
}

func testFindByUsername(t *testing.T, s recovery.UserStore, seed []Seed) {
	alice := seed[seedAlice].User
	for _, id := range []string{"Alice", "alice", "ALICE", "aLiCe", "ＡＬＩＣＥ", "ａｌｉｃｅ"} {
		wantFound(t, s, poolA, id, alice)
	}
	for _, id := range []string{"bob", "BOB"} {
		wantFound(t, s, poolA, id, seed[seedBob].User) // disabled users are found too
	}
}

func testFindByUsernameUnicode(t *testing.T, s recovery.UserStore, seed []Seed) {
	for _, id := range []string{
		"Ünïcode",
		"ÜNÏCODE",
		"ünïcode",
		"U\u0308ni\u0308code", // decomposed (NFD)
		"Ｕ\u0308ＮＩ\u0308ＣＯＤＥ", // full width, decomposed
	} {
		wantFound(t, s, poolA, id, seed[seedUnicode].User)
	}
	wantNotFound(t, s, poolA, "Unicode", "the diacritics are part of the username")
}

func testFindBySub(t *testing.T, s recovery.UserStore, seed []Seed) {
	for _, i := range []int{seedAlice, seedUnicode, seedBob} {
		u := seed[i].User
		wantFound(t, s, poolA, u.Sub, u)
		wantFound(t, s, poolA, strings.ToUpper(u.Sub), u) // compared after FoldIdentifier
	}
}

func testFindByPreferredUsername(t *testing.T, s recovery.UserStore, seed []Seed) {
	for _, id := range []string{"Ally", "ally", "ALLY", "ＡＬＬＹ"} {
		wantFound(t, s, poolA, id, seed[seedAlice].User)
	}
}

func testFindByVerifiedEmail(t *testing.T, s recovery.UserStore, seed []Seed) {
	for _, id := range []string{"Alice@Example.COM", "alice@example.com", "ALICE@EXAMPLE.COM"} {
		wantFound(t, s, poolA, id, seed[seedAlice].User)
	}
}

func testFindByVerifiedPhone(t *testing.T, s recovery.UserStore, seed []Seed) {
	for _, id := range []string{"+15555550100", "＋１５５５５５５０１００"} {
		wantFound(t, s, poolA, id, seed[seedAlice].User)
	}
}

func testUnverifiedAliasesNotFound(t *testing.T, s recovery.UserStore, _ []Seed) {
	wantNotFound(t, s, poolA, "uni@example.com", `email_verified is "false"`)
	wantNotFound(t, s, poolA, "+15555550111", `phone_number_verified is "false"`)
	wantNotFound(t, s, poolA, "bob@example.com", "email_verified is not set")
	wantNotFound(t, s, poolA, "+15555550122", "phone_number_verified is not set")
}

func testUserNotFound(t *testing.T, s recovery.UserStore, _ []Seed) {
	wantNotFound(t, s, poolA, "nobody", "no such user")
	wantNotFound(t, s, poolA, "alice@example.org", "no such email")
	wantNotFound(t, s, poolA, "Allyx", "no such preferred_username")
	wantNotFound(t, s, poolA, "alic", "a prefix of a username is not a match")
	wantNotFound(t, s, poolA, "", "an empty key matches no user, even one without some attribute")
	wantNotFound(t, s, poolA, "true", "attribute values other than the aliases are not identifiers")
	wantNotFound(t, s, poolA, "blue", "attribute values other than the aliases are not identifiers")
}

func testUserPoolIsolation(t *testing.T, s recovery.UserStore, seed []Seed) {
	alice, aliceB := seed[seedAlice].User, seed[seedAliceB].User
	wantFound(t, s, poolA, "alice", alice)
	wantFound(t, s, poolB, "alice", aliceB)
	wantFound(t, s, poolA, "ALICE@example.com", alice)
	wantFound(t, s, poolB, "ALICE@example.com", aliceB)
	wantNotFound(t, s, poolB, "bob", "bob is in another pool")
	wantNotFound(t, s, poolB, alice.Sub, "that sub is in another pool")
	wantNotFound(t, s, poolB, "Ally", "that preferred_username is in another pool")
	wantNotFound(t, s, poolB, "+15555550100", "that phone number is in another pool")
	wantNotFound(t, s, poolA, aliceB.Sub, "that sub is in another pool")
	wantNotFound(t, s, poolMissing, "alice", "the pool has no users")
}

func testReturnedUserIsCopy(t *testing.T, s recovery.UserStore, seed []Seed) {
	alice := seed[seedAlice].User
	got, ok := wantFound(t, s, poolA, "alice", alice)
	if !ok || got.Attributes == nil {
		return
	}
	got.Attributes[recovery.AttrEmail] = "mallory@example.com"
	got.Attributes[recovery.AttrPhoneNumberVerified] = "false"
	got.Attributes["custom:new"] = "x"
	delete(got.Attributes, recovery.AttrPreferredUsername)
	again, _ := wantFound(t, s, poolA, "alice", alice)
	if _, ok := again.Attributes["custom:new"]; ok {
		t.Errorf("FindUser returned an attribute a caller added to a user FindUser had returned before")
	}
	wantFound(t, s, poolA, "Ally", alice)
	wantFound(t, s, poolA, "+15555550100", alice)
	wantNotFound(t, s, poolA, "mallory@example.com", "a caller changed the email of a returned user, not of the stored one")
}

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
			_, err := c.CreateUser(ctx, poolA, recovery.User{Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "carol", Enabled: true, Status: recovery.StatusConfirmed}, "")
			return err
		})
		if created {
			wantFound(t, s, poolA, "carol", recovery.User{Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "carol", Enabled: true, Status: recovery.StatusConfirmed})
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
		Sub: "0e0e0e00-0000-4000-8000-00000000000e", Username: "Carol", Enabled: true,
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
		u := recovery.User{Username: name, Enabled: true, Status: recovery.StatusConfirmed}
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
	dup := recovery.User{Sub: "0f0f0f00-0000-4000-8000-00000000000f", Username: "Alice", Enabled: true, Status: recovery.StatusConfirmed,
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
		u := recovery.User{Sub: fmt.Sprintf("0f0f0f00-0000-4000-8000-0000000000%02x", subs), Username: username, Enabled: true, Status: recovery.StatusConfirmed, Attributes: map[string]string{}}
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
		return c.CreateUser(ctx, poolA, recovery.User{Sub: sub(i), Username: forms[i%len(forms)], Enabled: true, Status: recovery.StatusConfirmed}, "")
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
		return c.CreateUser(ctx, poolA, recovery.User{Sub: sub(n + i), Username: fmt.Sprintf("yan%d", i), Enabled: true, Status: recovery.StatusConfirmed,
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
