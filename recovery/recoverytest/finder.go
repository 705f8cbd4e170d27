package recoverytest

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestCodeIssuingFinder checks that the user store made by newStores keeps
// the contract of recovery.CodeIssuingFinder with the code store it returns
// beside it: it finds the user FindUser finds, judges them by the rule of
// recovery.FindIssueParams (applied to the user it returns, so a store that
// keeps no MFA flags or status is judged on what it keeps), stores the code
// bound to the user (recovery.BoundCode) for an eligible user and the
// unusable hash otherwise, charges an unknown identifier's key only when
// one is given, applies the code store's budget, and keeps pools apart.
//
// newStores must return a user store holding exactly the seed users (the
// users of TestUserStore), implementing recovery.CodeIssuingFinder for the
// code store returned with it, both isolated from every other pair it
// returned.
func TestCodeIssuingFinder(t *testing.T, newStores func(t *testing.T, seed []Seed) (recovery.UserStore, recovery.CodeStore)) {
	t.Helper()
	for _, ft := range []struct {
		name string
		run  func(t *testing.T, f finderUnderTest, seed []Seed)
	}{
		{"Verdicts", testFinderVerdicts},
		{"Unknown", testFinderUnknown},
		{"Budget", testFinderBudget},
		{"PoolIsolation", testFinderPools},
		{"CancelledContext", testFinderCancelled},
	} {
		t.Run(ft.name, func(t *testing.T) {
			users, codes := newStores(t, seedUsers())
			f, ok := users.(recovery.CodeIssuingFinder)
			if !ok {
				t.Fatalf("%T does not implement recovery.CodeIssuingFinder", users)
			}
			if !f.IssuesCodesOf(codes) {
				t.Fatalf("%T.IssuesCodesOf(the code store returned with it) = false", users)
			}
			ft.run(t, finderUnderTest{users, f, codes}, seedUsers())
		})
	}
}

type finderUnderTest struct {
	users  recovery.UserStore
	finder recovery.CodeIssuingFinder
	codes  recovery.CodeStore
}

var (
	finderNow    = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	finderLimits = recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 100, Cooldown: time.Minute}
)

// finderParams are fresh random hashes for one call.
func finderParams(media []recovery.DeliveryMedium, unknownKey string, limits recovery.CodeLimits) recovery.FindIssueParams {
	random := func(id string) recovery.KeyedHash {
		h := make([]byte, 32)
		rand.Read(h)
		return recovery.KeyedHash{KeyID: id, Hash: h}
	}
	return recovery.FindIssueParams{Media: media, Code: random("k1+u"), Unusable: random("k1"), UnknownKey: unknownKey,
		ExpiresAt: finderNow.Add(time.Hour), Now: finderNow, Limits: limits}
}

// eligibleByRule is recovery.FindIssueParams' rule.
func eligibleByRule(u recovery.User, media []recovery.DeliveryMedium) bool {
	if u.Disabled || !slices.Contains([]recovery.UserStatus{recovery.StatusConfirmed, recovery.StatusResetRequired, ""}, u.Status) {
		return false
	}
	usable := func(m recovery.DeliveryMedium, attr, flag string, mfa bool) bool {
		return slices.Contains(media, m) && u.Attributes[attr] != "" && u.Attributes[flag] == "true" && !mfa
	}
	return usable(recovery.Email, recovery.AttrEmail, recovery.AttrEmailVerified, u.EmailMFA) ||
		usable(recovery.SMS, recovery.AttrPhoneNumber, recovery.AttrPhoneNumberVerified, u.SMSMFA)
}

// stored reports whether the record of key holds code, without using it.
func (f finderUnderTest) stored(t *testing.T, pool, key string, code recovery.KeyedHash) bool {
	t.Helper()
	out, err := f.codes.Check(t.Context(), recovery.CheckParams{Pool: pool, UserKey: key,
		Candidates: []recovery.KeyedHash{code}, Now: finderNow, Limits: finderLimits})
	if err != nil {
		t.Fatalf("Check(%q): %v", key, err)
	}
	return out == recovery.OutcomeOK
}

// testFinderVerdicts: every seed user in every media setting is found as
// FindUser finds them, judged by the rule, and given the code (bound to
// them) or the unusable hash accordingly.
func testFinderVerdicts(t *testing.T, f finderUnderTest, seed []Seed) {
	eligibleSeen, ineligibleSeen := false, false
	for _, media := range [][]recovery.DeliveryMedium{{recovery.Email, recovery.SMS}, {recovery.Email}, {recovery.SMS}} {
		for _, s := range seed {
			q := query(s.User.Username)
			want, err := f.users.FindUser(t.Context(), s.Pool, q)
			if err != nil {
				t.Fatalf("FindUser(%q): %v", s.User.Username, err)
			}
			p := finderParams(media, "", finderLimits)
			res, err := f.finder.FindUserIssuing(t.Context(), s.Pool, q, p)
			if err != nil || !res.Found || res.Outcome != recovery.OutcomeOK {
				t.Fatalf("FindUserIssuing(%q, media %v) = found %v, outcome %v, %v; want found, OutcomeOK", s.User.Username, media, res.Found, res.Outcome, err)
			}
			if d := userDiff(want, res.User); d != "" {
				t.Errorf("FindUserIssuing(%q) returned another user than FindUser: %s", s.User.Username, d)
			}
			eligible := eligibleByRule(res.User, media)
			if res.Eligible != eligible {
				t.Errorf("FindUserIssuing(%q, media %v): Eligible %v, want %v by FindIssueParams' rule", s.User.Username, media, res.Eligible, eligible)
			}
			eligibleSeen, ineligibleSeen = eligibleSeen || eligible, ineligibleSeen || !eligible
			key := recovery.UserKey(res.User.Sub)
			bound, unusable := f.stored(t, s.Pool, key, recovery.BoundCode(p.Code, key)), f.stored(t, s.Pool, key, p.Unusable)
			if bound != eligible || unusable == eligible {
				t.Errorf("after FindUserIssuing(%q, media %v) (eligible: %v): holds the bound code %v, the unusable hash %v", s.User.Username, media, eligible, bound, unusable)
			}
		}
	}
	if !eligibleSeen || !ineligibleSeen {
		t.Fatal("the seed users no longer give both verdicts: the check tells nothing")
	}
}

// testFinderUnknown: an unknown identifier charges the key given, with the
// unusable hash, and nothing when none is given.
func testFinderUnknown(t *testing.T, f finderUnderTest, _ []Seed) {
	media := []recovery.DeliveryMedium{recovery.Email}
	p := finderParams(media, "x:recoverytest-unknown", finderLimits)
	res, err := f.finder.FindUserIssuing(t.Context(), poolA, query("nobody@example.com"), p)
	if err != nil || res.Found || res.Outcome != recovery.OutcomeOK {
		t.Fatalf("FindUserIssuing(nobody, unknown key given) = found %v, outcome %v, %v; want not found, OutcomeOK", res.Found, res.Outcome, err)
	}
	if !f.stored(t, poolA, p.UnknownKey, p.Unusable) {
		t.Error("the unknown key's record does not hold the unusable hash")
	}
	p = finderParams(media, "", finderLimits)
	res, err = f.finder.FindUserIssuing(t.Context(), poolA, query("nobody@example.com"), p)
	if err != nil || res.Found || res.Outcome != 0 {
		t.Fatalf("FindUserIssuing(nobody, no unknown key) = found %v, outcome %v, %v; want not found, no issue (0)", res.Found, res.Outcome, err)
	}
}

// testFinderBudget: the code store's budget applies; a refused issue
// leaves the previous code in place.
func testFinderBudget(t *testing.T, f finderUnderTest, seed []Seed) {
	limits := finderLimits
	limits.Budget = 1
	media := []recovery.DeliveryMedium{recovery.Email, recovery.SMS}
	alice := seed[seedAlice]
	first := finderParams(media, "", limits)
	res, err := f.finder.FindUserIssuing(t.Context(), alice.Pool, query("alice"), first)
	if err != nil || res.Outcome != recovery.OutcomeOK {
		t.Fatalf("first FindUserIssuing: %v, %v", res.Outcome, err)
	}
	kept := first.Unusable
	if res.Eligible {
		kept = recovery.BoundCode(first.Code, recovery.UserKey(alice.User.Sub))
	}
	second, err := f.finder.FindUserIssuing(t.Context(), alice.Pool, query("alice"), finderParams(media, "", limits))
	if err != nil || second.Outcome != recovery.OutcomeLimitExceeded {
		t.Fatalf("second FindUserIssuing within a budget of 1: %v, %v; want OutcomeLimitExceeded", second.Outcome, err)
	}
	if !f.stored(t, alice.Pool, recovery.UserKey(alice.User.Sub), kept) {
		t.Error("the refused issue replaced the first one's hash")
	}
}

// testFinderPools: the same username in two pools is two users, charged
// apart.
func testFinderPools(t *testing.T, f finderUnderTest, seed []Seed) {
	media := []recovery.DeliveryMedium{recovery.Email, recovery.SMS}
	p := finderParams(media, "", finderLimits)
	res, err := f.finder.FindUserIssuing(t.Context(), poolB, query("alice"), p)
	if err != nil || !res.Found || res.User.Sub != seed[seedAliceB].User.Sub {
		t.Fatalf("FindUserIssuing(%q, alice) = %+v, %v; want the pool's own alice", poolB, res, err)
	}
	key := recovery.UserKey(res.User.Sub)
	if f.stored(t, poolA, key, recovery.BoundCode(p.Code, key)) {
		t.Error("the code issued in one pool is found in another")
	}
}

// testFinderCancelled: a cancelled context is an error.
func testFinderCancelled(t *testing.T, f finderUnderTest, _ []Seed) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.finder.FindUserIssuing(ctx, poolA, query("alice"), finderParams([]recovery.DeliveryMedium{recovery.Email}, "", finderLimits)); err == nil {
		t.Error("FindUserIssuing with a cancelled context succeeded")
	}
}
