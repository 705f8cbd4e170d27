package riveroutbox_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func newEngine(t testing.TB, users *memstore.UserStore, sender recovery.Sender, outbox recovery.Outbox) *recovery.Engine {
	t.Helper()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender, Outbox: outbox,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    testKeys,
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func addUser(t testing.TB, users *memstore.UserStore, name string) {
	t.Helper()
	if _, err := users.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
		Username:   name,
		Attributes: map[string]string{"email": name + "@example.com", "email_verified": "true"},
	}, ""); err != nil {
		t.Fatal(err)
	}
}

// Recover puts the code into River; a River worker sends it; the code
// confirms the new password.
func TestEngineDeliversThroughRiver(t *testing.T) {
	pool, schema := testDB(t)
	users := memstore.NewUserStore()
	addUser(t, users, "alice")
	sender := capturesender.New()
	outbox := newOutbox(t, pool, fastOptions(schema, 3))
	e := newEngine(t, users, sender, outbox)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	for _, name := range []string{"alice", "nobody"} {
		if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: name}); err != nil {
			t.Fatalf("Recover(%s): %v", name, err)
		}
	}
	code, err := sender.AwaitCode(ctx, "alice")
	if err != nil {
		t.Fatalf("no code reached the sender through River: %v", err)
	}
	if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-Passw0rd!"}); err != nil {
		t.Fatalf("Confirm with the delivered code: %v", err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatalf("Engine.Close: %v", err)
	}
	// The code, then the password-changed notice, sealed through River
	// like the code; the decoy sends nothing.
	if msgs := sender.Messages(); len(msgs) != 2 || msgs[1].Code != "" || msgs[1].Subject != "Your password was changed" {
		t.Errorf("messages sent: %v; want the code and the password-changed notice (the decoy sends nothing)", msgs)
	}
	var jobs, done int
	if err := pool.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE state = 'completed') FROM "+
		pgx.Identifier{schema, "river_job"}.Sanitize()).Scan(&jobs, &done); err != nil {
		t.Fatal(err)
	}
	if jobs != 3 || done != 3 {
		t.Errorf("%d jobs, %d completed; want the delivery, the decoy and the notice, all completed", jobs, done)
	}
}

// PutTx inserts with the caller's transaction: nothing is sent when it
// rolls back, the delivery is sent once it commits.
func TestPutTx(t *testing.T) {
	pool, schema := testDB(t)
	outbox := newOutbox(t, pool, fastOptions(schema, 3))
	got := make(chan recovery.Delivery, 4)
	if err := outbox.Bind(deliverFunc(func(d recovery.Delivery) { got <- d })); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	put := func(id string, commit bool) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := recovery.Delivery{ID: id, Code: "123456", ExpiresAt: time.Now().Add(time.Hour)}
		if err := outbox.PutTx(ctx, tx, d); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put("msg_rolledback", false)
	put("msg_committed", true)
	select {
	case d := <-got:
		if d.ID != "msg_committed" {
			t.Fatalf("delivered %s, want msg_committed", d.ID)
		}
	case <-ctx.Done():
		t.Fatal("the committed delivery was not made")
	}
	if err := outbox.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("a rolled-back delivery was made: %s", (<-got).ID)
	}
}

type deliverFunc func(recovery.Delivery)

func (f deliverFunc) Deliver(_ context.Context, d recovery.Delivery) error { f(d); return nil }
func (f deliverFunc) Abandon(context.Context, recovery.Delivery, error)    {}

func TestNewRejectsBadOptions(t *testing.T) {
	pool, _ := testDB(t)
	for name, opts := range map[string]riveroutbox.Options{
		"no keys":          {},
		"short key":        {Keys: []recovery.Key{{ID: "k1", Secret: []byte("short-secret")}}},
		"negative workers": {Keys: testKeys, Workers: -1},
		"negative timeout": {Keys: testKeys, AttemptTimeout: -time.Second},
	} {
		if _, err := riveroutbox.New(pool, opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), "short-secret") {
			t.Errorf("%s: the error %q shows the secret", name, err)
		}
	}
}
