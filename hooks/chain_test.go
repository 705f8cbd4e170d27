package hooks_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func engine(t *testing.T, h recovery.Hooks) (*recovery.Engine, *capturesender.Sender) {
	t.Helper()
	users := memstore.NewUserStore()
	users.CreateUser(context.Background(), "default", recovery.User{Username: "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"}}, "")
	sender := capturesender.New()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}}, // errors and delivery during the request
		Keys:    []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}},
		Hasher:  recoverytest.InsecureHasher{},
		Hooks:   h,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, sender
}

func TestChainPostConfirmInOrder(t *testing.T) {
	var order []string
	step := func(name string, err error) recovery.PostConfirmHook {
		return recovery.PostConfirmFunc(func(context.Context, recovery.PostConfirmEvent) error {
			order = append(order, name)
			return err
		})
	}
	e, sender := engine(t, recovery.Hooks{PostConfirm: hooks.ChainPostConfirm(step("revoke", nil), step("audit", nil))})
	ctx := context.Background()
	e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := sender.LastCode("alice")
	if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "revoke,audit" {
		t.Fatalf("order %v", order)
	}

	order = nil
	chain := hooks.ChainPostConfirm(step("revoke", recovery.Reject("sessions unavailable")), step("audit", nil))
	if err := chain.PostConfirm(ctx, recovery.PostConfirmEvent{}); err == nil || strings.Join(order, ",") != "revoke" {
		t.Fatalf("err %v order %v: the first error stops the chain", err, order)
	}
}

func TestChainCustomMessageOverrides(t *testing.T) {
	a := recovery.CustomMessageFunc(func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
		return recovery.CustomMessage{EmailSubject: "A", EmailMessage: "A {####}"}, nil
	})
	b := recovery.CustomMessageFunc(func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
		return recovery.CustomMessage{EmailSubject: "B"}, nil
	})
	e, sender := engine(t, recovery.Hooks{CustomMessage: hooks.ChainCustomMessage(a, b)})
	if _, err := e.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	m, _ := sender.Last("alice")
	if m.Subject != "B" || m.HTML != "A "+m.Code {
		t.Fatalf("subject %q html %q", m.Subject, m.HTML)
	}
}

func TestChainUserMigrationFirstWins(t *testing.T) {
	none := recovery.UserMigrationFunc(func(context.Context, recovery.UserMigrationEvent) (*recovery.MigratedUser, error) { return nil, nil })
	found := recovery.UserMigrationFunc(func(context.Context, recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
		return &recovery.MigratedUser{Attributes: map[string]string{"email": "l@example.com", "email_verified": "true"}}, nil
	})
	never := recovery.UserMigrationFunc(func(context.Context, recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
		t.Error("the chain went past the first hit")
		return nil, nil
	})
	u, err := hooks.ChainUserMigration(none, found, never).MigrateUser(context.Background(), recovery.UserMigrationEvent{})
	if err != nil || u == nil {
		t.Fatalf("%v, %v", u, err)
	}
}

func TestChainRiskCheck(t *testing.T) {
	calls := 0
	ok := recovery.RiskCheckFunc(func(context.Context, recovery.RiskEvent) error { calls++; return nil })
	block := recovery.RiskCheckFunc(func(context.Context, recovery.RiskEvent) error { calls++; return recovery.ErrBlocked })
	e, _ := engine(t, recovery.Hooks{RiskCheck: hooks.ChainRiskCheck(ok, block, ok)})
	_, err := e.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if !errors.Is(err, recovery.ErrForbidden) || calls != 2 {
		t.Fatalf("err %v after %d checks", err, calls)
	}
}

type tracer struct {
	name string
	log  *[]string
}

func (t tracer) Observe(context.Context, recovery.Event) { *t.log = append(*t.log, t.name+":event") }

func (t tracer) TraceOperation(ctx context.Context, op recovery.Operation, _ string) (context.Context, func(string)) {
	*t.log = append(*t.log, t.name+":start:"+string(op))
	return ctx, func(outcome string) { *t.log = append(*t.log, t.name+":end:"+outcome) }
}

func TestObserversContainPanicsAndNestTraces(t *testing.T) {
	var log []string
	panicky := recovery.ObserverFunc(func(context.Context, recovery.Event) { panic("observer bug") })
	var buf bytes.Buffer
	e, _ := engine(t, recovery.Hooks{Observer: hooks.Observers(tracer{"a", &log}, panicky, tracer{"b", &log}, hooks.LogEvents(slog.New(slog.NewJSONHandler(&buf, nil))))})
	e.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: "ghost"})
	want := "a:start:ForgotPassword b:start:ForgotPassword a:event b:event b:end:UserNotFoundException a:end:UserNotFoundException"
	if got := strings.Join(log, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(buf.String(), `"event":"rejected"`) || !strings.Contains(buf.String(), `"reason":"UserNotFoundException"`) {
		t.Fatalf("log %s", buf.String())
	}
}

// TestMigrationOnceUnderConcurrency: 50 concurrent Recover calls for one
// legacy user, spread over two engines sharing the user store (two app
// instances), create the user once and deliver a code to every caller.
func TestMigrationOnceUnderConcurrency(t *testing.T) {
	users := memstore.NewUserStore()
	codes := memstore.NewCodeStore()
	sender := capturesender.New()
	var mu sync.Mutex
	calls := 0
	migrate := recovery.UserMigrationFunc(func(ctx context.Context, e recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(10 * time.Millisecond) // a legacy system takes a while
		return &recovery.MigratedUser{Attributes: map[string]string{"email": "old@example.com", "email_verified": "true"}}, nil
	})
	var engines []*recovery.Engine
	for range 2 {
		e, err := recovery.New(recovery.Config{
			Users: users, Codes: codes, Sender: sender,
			Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}}, // errors and delivery during the request
			Keys:    []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}},
			Hasher:  recoverytest.InsecureHasher{},
			Policy:  recovery.Policy{Budget: 50, CodeDigits: 8},
			Hooks:   recovery.Hooks{UserMigration: migrate},
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := engines[i%2].Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: "oldtimer"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if sender.Len() != 50 {
		t.Fatalf("%d codes delivered, want 50", sender.Len())
	}
	u, err := users.FindUser(context.Background(), "default", recovery.UserQuery{Key: "oldtimer"})
	if err != nil || u.Status != recovery.StatusResetRequired {
		t.Fatalf("user %+v, %v", u, err)
	}
	// One hook call per engine at most (singleflight within an instance);
	// the store's uniqueness makes the second instance reuse the first's user.
	if calls < 1 || calls > 2 {
		t.Fatalf("%d hook calls", calls)
	}
	for _, m := range sender.Messages() {
		if m.Sub != u.Sub {
			t.Fatalf("a code went to sub %s, the user is %s: migrated twice", m.Sub, u.Sub)
		}
	}
}
