package recoverytest

import (
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
// recovery.PasswordHashReader, recovery.PasswordResetRequirer and
// recovery.UserCreator (duplicate
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
	{"RequirePasswordReset", testRequirePasswordReset},
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
			Sub: "0a11ce00-0000-4000-8000-00000000000a", Username: "Alice",
			Status: recovery.StatusConfirmed, EmailMFA: true,
			Attributes: map[string]string{
				recovery.AttrEmail: "Alice@Example.COM", recovery.AttrEmailVerified: "true",
				recovery.AttrPhoneNumber: "+15555550100", recovery.AttrPhoneNumberVerified: "true",
				recovery.AttrPreferredUsername: "Ally", recovery.AttrLocale: "de",
				"custom:team": "blue",
			},
		}},
		seedUnicode: {Pool: poolA, PasswordHash: "hash-unicode-1", User: recovery.User{
			Sub: "0b0b0b00-0000-4000-8000-00000000000b", Username: "Ünïcode",
			Status: recovery.StatusForceChangePassword,
			Attributes: map[string]string{
				recovery.AttrEmail: "uni@example.com", recovery.AttrEmailVerified: "false",
				recovery.AttrPhoneNumber: "+15555550111", recovery.AttrPhoneNumberVerified: "false",
			},
		}},
		seedBob: {Pool: poolA, User: recovery.User{
			Sub: "0c0c0c00-0000-4000-8000-00000000000c", Username: "bob", Disabled: true,
			Status: recovery.StatusResetRequired, SMSMFA: true,
			Attributes: map[string]string{
				recovery.AttrEmail: "bob@example.com", recovery.AttrPhoneNumber: "+15555550122",
			},
		}},
		seedAliceB: {Pool: poolB, PasswordHash: "hash-alice-b-1", User: recovery.User{
			Sub: "0d0d0d00-0000-4000-8000-00000000000d", Username: "alice",
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
	if got.Disabled != want.Disabled {
		d = append(d, fmt.Sprintf("Disabled %v, want %v", got.Disabled, want.Disabled))
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
