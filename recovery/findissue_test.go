package recovery_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// finder is a recovery.CodeIssuingFinder over the memory stores (two
// calls, not one atomic step: enough to test the engine's side). judge is
// its verdict on a user; lie turns it into a wrong one.
type finder struct {
	*memstore.UserStore
	codes *memstore.CodeStore
	lie   func(recovery.User) bool // nil: judge honestly
	calls int
}

func (f *finder) IssuesCodesOf(codes recovery.CodeStore) bool {
	return codes == recovery.CodeStore(f.codes)
}

func (f *finder) FindUserIssuing(ctx context.Context, pool string, q recovery.UserQuery, p recovery.FindIssueParams) (recovery.FoundIssue, error) {
	f.calls++
	var r recovery.FoundIssue
	u, err := f.FindUser(ctx, pool, q)
	key, code := p.UnknownKey, p.Unusable
	switch {
	case errors.Is(err, recovery.ErrUserNotFound) && key == "":
		return r, nil
	case errors.Is(err, recovery.ErrUserNotFound):
	case err != nil:
		return r, err
	default:
		r.User, r.Found, key = u, true, recovery.UserKey(u.Sub)
		r.Eligible = eligible(u, p.Media)
		if f.lie != nil && f.lie(u) {
			r.Eligible = !r.Eligible
		}
		if r.Eligible {
			code = recovery.BoundCode(p.Code, key)
		}
	}
	r.Outcome, err = f.codes.Issue(ctx, recovery.IssueParams{Pool: pool, UserKey: key, Code: code, ExpiresAt: p.ExpiresAt, Now: p.Now, Limits: p.Limits})
	return r, err
}

// eligible is FindIssueParams' rule.
func eligible(u recovery.User, media []recovery.DeliveryMedium) bool {
	if u.Disabled || !slices.Contains([]recovery.UserStatus{recovery.StatusConfirmed, recovery.StatusResetRequired, ""}, u.Status) {
		return false
	}
	email := slices.Contains(media, recovery.Email) && u.Attributes[recovery.AttrEmail] != "" &&
		u.Attributes[recovery.AttrEmailVerified] == "true" && !u.EmailMFA
	sms := slices.Contains(media, recovery.SMS) && u.Attributes[recovery.AttrPhoneNumber] != "" &&
		u.Attributes[recovery.AttrPhoneNumberVerified] == "true" && !u.SMSMFA
	return email || sms
}

func newFinderEnv(t *testing.T, mutate ...func(*recovery.Config)) (*env, *finder) {
	var f *finder
	e := newEnv(t, append([]func(*recovery.Config){func(c *recovery.Config) {
		f = &finder{UserStore: c.Users.(*memstore.UserStore), codes: c.Codes.(*memstore.CodeStore)}
		c.Users = f
	}}, mutate...)...)
	return e, f
}

// The engine uses a CodeIssuingFinder for the whole Recover, and codes it
// issues (bound to the user by the store) confirm; hidden or revealed,
// unknown identifiers get the answers they get without it.
func TestCodeIssuingFinder(t *testing.T) {
	e, f := newFinderEnv(t)
	e.alice()
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if f.calls != 1 {
		t.Fatalf("FindUserIssuing called %d times, want 1", f.calls)
	}
	if err := e.confirm("web", "alice", e.lastCode("alice"), "N3w-passw0rd!"); err != nil {
		t.Fatalf("Confirm of a code the finder issued: %v", err)
	}
	if _, err := e.recover("web", "nobody"); !errors.Is(err, recovery.ErrUserNotFound) {
		t.Errorf("unknown user, revealing client: %v", err)
	}
	if d, err := e.recover("quiet", "nobody@example.com"); err != nil || d.Destination != "n***@e***" {
		t.Errorf("unknown user, hiding client: %+v, %v", d, err)
	}
	if f.calls != 3 {
		t.Errorf("FindUserIssuing called %d times, want 3", f.calls)
	}
}

// When the store's verdict differs from the engine's, Recover fails as an
// internal error, and a code the store made usable is revoked: the user
// here has no verified channel, so nobody was sent the code, and nobody may
// use it.
func TestCodeIssuingFinderDisagreeing(t *testing.T) {
	e, f := newFinderEnv(t, func(c *recovery.Config) { c.Rand = zeros{} }) // every code is 000000
	f.lie = func(recovery.User) bool { return true }
	e.addUser(recovery.User{Username: "carol", Attributes: map[string]string{"email": "carol@example.com", "email_verified": "false"}})
	if _, err := e.recover("quiet", "carol"); !errors.Is(err, recovery.ErrInternal) {
		t.Fatalf("Recover with a store that judged the user eligible: %v, want InternalErrorException", err)
	}
	if err := e.confirm("quiet", "carol", "000000", "N3w-passw0rd!"); err == nil {
		t.Fatal("the code of a user the engine judged ineligible was usable")
	}
	e.alice()
	if _, err := e.recover("quiet", "alice"); !errors.Is(err, recovery.ErrInternal) {
		t.Fatalf("Recover with a store that judged the user ineligible: %v, want InternalErrorException", err)
	}
	if n := len(e.sender.Messages()); n != 0 {
		t.Errorf("%d messages sent, want none", n)
	}
}

// The engine leaves the ability alone where the store cannot judge alone:
// with a UserMigration hook (an unknown user may yet be made) and in a
// case-sensitive pool (the engine re-checks the identifier's case).
func TestCodeIssuingFinderNotUsed(t *testing.T) {
	for name, mutate := range map[string]func(*recovery.Config){
		"migration": func(c *recovery.Config) {
			c.Hooks.UserMigration = recovery.UserMigrationFunc(func(context.Context, recovery.UserMigrationEvent) (*recovery.MigratedUser, error) { return nil, nil })
		},
		"case-sensitive": func(c *recovery.Config) { c.CaseSensitive = true },
	} {
		e, f := newFinderEnv(t, mutate)
		e.alice()
		if _, err := e.recover("web", "alice"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.calls != 0 {
			t.Errorf("%s: FindUserIssuing called %d times, want 0", name, f.calls)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// An abandoned delivery's code, issued by a CodeIssuingFinder, is revoked
// like any other: nobody received it.
func TestCodeIssuingFinderAbandon(t *testing.T) {
	var held []recovery.Delivery
	e, _ := newFinderEnv(t)
	e.cfg.Outbox = &holdingOutbox{put: func(d recovery.Delivery) { held = append(held, d) }}
	eng, err := recovery.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.alice()
	if _, err := eng.Recover(e.ctx, recovery.RecoverRequest{ClientID: "quiet", Username: "alice"}); err != nil || len(held) != 1 {
		t.Fatalf("Recover: %v, %d deliveries held", err, len(held))
	}
	eng.Abandon(e.ctx, held[0], errors.New("gave up"))
	err = eng.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "quiet", Username: "alice", ConfirmationCode: held[0].Code, Password: "N3w-passw0rd!"})
	if !errors.Is(err, recovery.ErrExpiredCode) {
		t.Fatalf("Confirm with an abandoned delivery's code: %v, want ExpiredCodeException", err)
	}
}

// The fake finder keeps the ability's contract, so the engine tests above
// test the engine against a store that does.
func TestFinderConformance(t *testing.T) {
	recoverytest.TestCodeIssuingFinder(t, func(t *testing.T, seed []recoverytest.Seed) (recovery.UserStore, recovery.CodeStore) {
		f := &finder{UserStore: memstore.NewUserStore(), codes: memstore.NewCodeStore()}
		for _, s := range seed {
			if _, err := f.CreateUser(t.Context(), s.Pool, s.User, s.PasswordHash); err != nil {
				t.Fatal(err)
			}
		}
		return f, f.codes
	})
}
