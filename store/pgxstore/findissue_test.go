package pgxstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestRecoverRoundTrips counts the round trips of a whole ForgotPassword
// through the engine: one with the shared-database stores (lookup and
// issue in one statement, recovery.CodeIssuingFinder), whoever the
// identifier names and whichever the client, and two with a user store
// of the host's own.
func TestRecoverRoundTrips(t *testing.T) {
	t.Parallel()
	cfg := poolConfig(t, 1)
	var d countingDialer
	cfg.ConnConfig.DialFunc = d.dial
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	ctx := t.Context()
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	own := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
	seedUser(t, own, "alice")
	must[recovery.User](t)(own.UpsertUser(ctx, recovery.DefaultPoolID, recovery.User{Username: "mallory", Disabled: true,
		Attributes: map[string]string{recovery.AttrEmail: "mallory@example.com", recovery.AttrEmailVerified: "true"}}, ""))
	table := must[*pgxstore.TableUserStore](t)(pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
		Name: accounts(t, pool, opts.Schema), Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified,
		PasswordHash: "password_hash", Disabled: "disabled",
	}))
	engine := func(users recovery.UserStore) *recovery.Engine {
		return must[*recovery.Engine](t)(recovery.New(recovery.Config{
			Users: users, Codes: codes, Sender: discardSender, Outbox: droppingOutbox{},
			Clients: []recovery.Client{{ID: "web"}, {ID: "legacy", RevealUserExistence: true}},
			Keys:    []recovery.Key{testKey}, Hasher: insecureHasher, Logger: discardLogger,
			Policy: recovery.Policy{Budget: 100},
		}))
	}
	for _, c := range []struct {
		store            string
		users            recovery.UserStore
		client, username string
		want             int
		wantErr          error
	}{
		{"shared", own.WithCodeStore(codes), "web", "alice", 1, nil},
		{"shared", own.WithCodeStore(codes), "web", "mallory", 1, nil},
		{"shared", own.WithCodeStore(codes), "web", "nobody", 1, nil},
		{"shared", own.WithCodeStore(codes), "legacy", "alice", 1, nil},
		{"shared", own.WithCodeStore(codes), "legacy", "mallory", 1, recovery.ErrNotAuthorized},
		{"shared", own.WithCodeStore(codes), "legacy", "nobody", 1, recovery.ErrUserNotFound},
		{"table", table.WithCodeStore(codes), "web", "alice@example.com", 1, nil},
		{"table", table.WithCodeStore(codes), "web", "bob@example.com", 1, nil},
		{"table", table.WithCodeStore(codes), "web", "nobody@example.com", 1, nil},
		{"own", own, "web", "alice", 2, nil},
		{"own", own, "web", "nobody", 2, nil},
		{"own table", table, "web", "alice@example.com", 2, nil},
	} {
		e := engine(c.users)
		// The first run prepares the statements on the pool's one
		// connection (a round trip each); count the second.
		for run := range 2 {
			d.writes.Store(0)
			_, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: c.client, Username: c.username})
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("%s store, %s client, Recover(%s): %v, want %v", c.store, c.client, c.username, err, c.wantErr)
			}
			if n := d.writes.Load(); run == 1 && n != int64(c.want) {
				t.Errorf("%s store, %s client, Recover(%s): %d round trips, want %d", c.store, c.client, c.username, n, c.want)
			}
		}
	}
}

// zeroReader makes every code 000000, so a test knows the code an
// ineligible user's record was given, and can try it.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestFindIssuingMatchesTwoSteps runs ForgotPassword, then
// ConfirmForgotPassword with the code, for users in every state that
// decides whether a code may be sent, on two engines: one whose user
// store finds and issues in one statement (the store judging the user in
// SQL) and one that looks up, then issues (the engine judging in Go). Every
// answer must be the same, for both kinds of client and for two recovery
// settings, and the code must work exactly when the engine sent one.
func TestFindIssuingMatchesTwoSteps(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	ctx := t.Context()
	type variant struct {
		name string
		u    recovery.User
	}
	email := map[string]string{recovery.AttrEmail: "%s@example.com", recovery.AttrEmailVerified: "true"}
	phone := map[string]string{recovery.AttrPhoneNumber: "+1555%s", recovery.AttrPhoneNumberVerified: "true"}
	both := map[string]string{recovery.AttrEmail: "%s@example.com", recovery.AttrEmailVerified: "true",
		recovery.AttrPhoneNumber: "+1555%s", recovery.AttrPhoneNumberVerified: "true"}
	variants := []variant{
		{"email", recovery.User{Attributes: email}},
		{"phone", recovery.User{Attributes: phone}},
		{"both", recovery.User{Attributes: both}},
		{"unverified", recovery.User{Attributes: map[string]string{recovery.AttrEmail: "%s@example.com", recovery.AttrEmailVerified: "false"}}},
		{"phoneunverified", recovery.User{Attributes: map[string]string{recovery.AttrPhoneNumber: "+1555%s", recovery.AttrPhoneNumberVerified: "false"}}},
		{"none", recovery.User{}},
		{"disabled", recovery.User{Disabled: true, Attributes: email}},
		{"unconfirmed", recovery.User{Status: recovery.StatusUnconfirmed, Attributes: email}},
		{"forcechange", recovery.User{Status: recovery.StatusForceChangePassword, Attributes: email}},
		{"resetrequired", recovery.User{Status: recovery.StatusResetRequired, Attributes: email}},
		{"emailmfa", recovery.User{EmailMFA: true, Attributes: email}},
		{"emailmfaphone", recovery.User{EmailMFA: true, Attributes: both}},
		{"smsmfa", recovery.User{SMSMFA: true, Attributes: phone}},
	}
	settings := map[string][]recovery.RecoveryMechanism{
		"default":   nil,
		"emailonly": {recovery.VerifiedEmail},
	}
	type answer struct{ recover, confirm string }
	run := func(t *testing.T, table, shared bool, mechanisms []recovery.RecoveryMechanism) map[string]answer {
		opts := newSchema(t, pool)
		codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
		users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
		var members *pgxstore.TableUserStore
		if table {
			members = membersTable(t, pool, opts.Schema, "members")
		}
		for i, v := range variants {
			u := v.u
			u.Username, u.Attributes = v.name, map[string]string{}
			for k, val := range v.u.Attributes {
				u.Attributes[k] = val
				if k == recovery.AttrEmail || k == recovery.AttrPhoneNumber {
					u.Attributes[k] = fmt.Sprintf(val, fmt.Sprintf("%07d", i))
				}
			}
			if !table {
				must[recovery.User](t)(users.UpsertUser(ctx, recovery.DefaultPoolID, u, "insecure-sha256$old"))
				continue
			}
			u.Sub = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			insertMember(t, pool, pgx.Identifier{opts.Schema, "members"}.Sanitize(), u, "insecure-sha256$old")
		}
		var store recovery.UserStore = users
		if shared {
			store = users.WithCodeStore(codes)
		}
		if table {
			store = members
			if shared {
				store = members.WithCodeStore(codes)
			}
		}
		e := must[*recovery.Engine](t)(recovery.New(recovery.Config{
			Users: store, Codes: codes, Sender: capturesender.New(), Outbox: recovery.NewInlineOutbox(),
			Clients:         []recovery.Client{{ID: "web"}, {ID: "legacy", RevealUserExistence: true}},
			AccountRecovery: mechanisms, Keys: []recovery.Key{testKey}, Hasher: insecureHasher,
			Logger: discardLogger, Rand: io.Reader(zeroReader{}), SkipPasswordChangedNotice: true,
		}))
		answers := map[string]answer{}
		for _, client := range []string{"web", "legacy"} {
			for _, name := range append([]string{"nobody"}, namesOf(variants, func(v variant) string { return v.name })...) {
				d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: client, Username: name})
				a := answer{recover: fmt.Sprintf("%+v %v", d, err)}
				err = e.Confirm(ctx, recovery.ConfirmRequest{ClientID: client, Username: name, ConfirmationCode: "000000", Password: newPassword})
				a.confirm = fmt.Sprint(err)
				answers[client+" "+name] = a
			}
		}
		return answers
	}
	for _, store := range []string{"users", "table"} {
		for setting, mechanisms := range settings {
			t.Run(store+"/"+setting, func(t *testing.T) {
				table := store == "table"
				one, two := run(t, table, true, mechanisms), run(t, table, false, mechanisms)
				sent := 0
				for k, a := range two {
					if one[k] != a {
						t.Errorf("%s:\n\tone statement: %+v\n\ttwo steps:     %+v", k, one[k], a)
					}
					if a.confirm == "<nil>" {
						sent++
					}
				}
				// Per client: email, phone (default only), both,
				// resetrequired, emailmfaphone (default only); the MFA
				// exclusions apply only where the store keeps MFA flags
				// (the table has none: emailmfa, and smsmfa by default,
				// get codes there).
				want := map[string]int{"users/default": 5, "users/emailonly": 3, "table/default": 7, "table/emailonly": 5}[store+"/"+setting]
				if sent != 2*want {
					t.Errorf("%d resets succeeded, want %d", sent, 2*want)
				}
			})
		}
	}
}

func namesOf[T any](vs []T, name func(T) string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = name(v)
	}
	return out
}

// holdingOutbox keeps deliveries for the test to deliver or abandon.
type holdingOutbox struct{ held []recovery.Delivery }

func (*holdingOutbox) Bind(recovery.Deliverer) error { return nil }
func (o *holdingOutbox) Put(_ context.Context, d recovery.Delivery) error {
	o.held = append(o.held, d)
	return nil
}

// A delivery of a code issued in one statement, delivered after
// StaleDelivery, is still found current (and sent), and one whose code a
// newer one replaced is dropped: the engine and the store agree on the
// bound hash.
func TestFindIssuingDeliveries(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 2)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)
	seedUser(t, users, "alice")
	clk := &clock{t: base}
	out := &holdingOutbox{}
	sender := capturesender.New()
	e := must[*recovery.Engine](t)(recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: out, Now: clk.Now,
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey}, Hasher: insecureHasher, Logger: discardLogger,
	}))
	ctx := t.Context()
	for range 2 {
		if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
			t.Fatal(err)
		}
		clk.set(clk.Now().Add(time.Second), 0)
	}
	clk.set(clk.Now().Add(recovery.StaleDelivery), 0)
	for _, d := range out.held {
		if err := e.Deliver(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if n := sender.Len(); n != 1 {
		t.Fatalf("%d messages sent, want 1: the newer code's, not the replaced one's", n)
	}
	if code, _ := sender.LastCode("alice"); code != out.held[1].Code {
		t.Fatal("the message sent holds the replaced code")
	}
}
