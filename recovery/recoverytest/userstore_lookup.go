package recoverytest

import (
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

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
