package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// fullOutbox refuses every delivery, as a queue full of an attacker's
// requests does.
type fullOutbox struct {
	mu  sync.Mutex
	put int
}

func (*fullOutbox) Bind(recovery.Deliverer) error { return nil }
func (o *fullOutbox) Put(context.Context, recovery.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put++
	return recovery.ErrOutboxFull
}

// With existence hidden, a delivery that fails, or a queue that is full,
// answers the existing user exactly as a missing one is answered: success
// with masked details. The failure goes to the Observer. With existence
// revealed, it is CodeDeliveryFailureException.
func TestDeliveryFailureHidden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*recovery.Config, *env)
	}{
		{"FailingSender", func(c *recovery.Config, e *env) { e.sender.Fail(errors.New("mail server down")) }},
		{"FullOutbox", func(c *recovery.Config, e *env) { c.Outbox = &fullOutbox{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []recovery.Event
			e := newEnv(t)
			e.cfg.Hooks.Observer = recovery.ObserverFunc(func(_ context.Context, ev recovery.Event) {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			})
			tc.mutate(&e.cfg, e)
			if _, ok := e.cfg.Outbox.(*fullOutbox); ok {
				// rebuild would replace it with an inline outbox
				eng, err := recovery.New(e.cfg)
				if err != nil {
					t.Fatal(err)
				}
				e.engine = eng
			} else {
				e.rebuild()
			}
			e.alice()
			d, err := e.recover("quiet", "alice")
			if err != nil || d.Destination != "a***@e***" {
				t.Fatalf("existing user, delivery failing, existence hidden: %+v, %v; want the usual answer", d, err)
			}
			if _, err := e.recover("quiet", "nobody@example.com"); err != nil {
				t.Fatalf("missing user: %v", err)
			}
			mu.Lock()
			failed := 0
			for _, ev := range events {
				if ev.Kind == recovery.EventDeliveryFailed {
					failed++
				}
			}
			mu.Unlock()
			if failed != 1 {
				t.Fatalf("%d delivery_failed events, want 1 (for the existing user)", failed)
			}
			// A client that reveals existence delivers during the request, as
			// Cognito does, and hears of the failure.
			if _, err = e.recover("web", "alice"); tc.name == "FailingSender" {
				wantErr(t, err, recovery.ErrCodeDeliveryFailure, "")
			}
		})
	}
}

// blockingHook holds every custom-message call until released.
type blockingHook struct {
	release chan struct{}
	calls   chan string
}

func (h blockingHook) CustomMessage(ctx context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
	h.calls <- ev.Username
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return recovery.CustomMessage{}, nil
}

// With existence hidden and the default outbox, the custom-message hook
// runs after Recover has answered: a slow hook cannot slow a real user's
// answer down.
func TestCustomMessageHookOffTheRequestPath(t *testing.T) {
	hook := blockingHook{release: make(chan struct{}), calls: make(chan string, 10)}
	e := newEnv(t, func(c *recovery.Config) { c.Hooks.CustomMessage = hook })
	e.cfg.Outbox = nil // the default, in-process outbox
	eng, err := recovery.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.alice()
	start := time.Now()
	if _, err := eng.Recover(e.ctx, recovery.RecoverRequest{ClientID: "quiet", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Recover took %s while the hook was blocked", el)
	}
	select {
	case who := <-hook.calls:
		if who != "alice" {
			t.Fatalf("hook called for %q", who)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hook was never called")
	}
	if e.sender.Len() != 0 {
		t.Fatal("a message was sent before the hook answered")
	}
	close(hook.release)
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if e.sender.Len() != 1 {
		t.Fatalf("%d messages sent after Close, want 1", e.sender.Len())
	}
}

// A delivery whose code expired while it waited is dropped, not sent late.
func TestExpiredDeliveryDropped(t *testing.T) {
	e := newEnv(t)
	var d recovery.Delivery
	var mu sync.Mutex
	captured := make(chan struct{})
	e.cfg.Outbox = &holdingOutbox{put: func(x recovery.Delivery) { mu.Lock(); d = x; mu.Unlock(); close(captured) }}
	eng, err := recovery.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.alice()
	eng.Recover(e.ctx, recovery.RecoverRequest{ClientID: "quiet", Username: "alice"})
	<-captured
	e.clock.Advance(time.Hour)
	mu.Lock()
	defer mu.Unlock()
	if err := eng.Deliver(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if e.sender.Len() != 0 {
		t.Fatal("a delivery whose code had expired was sent")
	}
	if s := fmt.Sprint(d); !strings.Contains(s, "Delivery{") || !strings.Contains(s, "[redacted]") || strings.Contains(s, d.Code) {
		t.Fatalf("a Delivery formats as %q", s)
	}
}

type holdingOutbox struct{ put func(recovery.Delivery) }

func (*holdingOutbox) Bind(recovery.Deliverer) error { return nil }
func (o *holdingOutbox) Put(_ context.Context, d recovery.Delivery) error {
	if !d.Decoy {
		o.put(d)
	}
	return nil
}

// A user store that writes a verified flag the engine cannot read gets an
// error naming the attribute, never a silent simulated answer; Explain says
// why a user would get no code.
func TestNoSilentTraps(t *testing.T) {
	e := newEnv(t)
	e.addUser(recovery.User{Username: "caps", Attributes: map[string]string{"email": "caps@example.com", "email_verified": "True"}})
	e.addUser(recovery.User{Username: "yes", Attributes: map[string]string{"email": "yes@example.com", "email_verified": "yes"}})
	e.addUser(recovery.User{Username: "off", Disabled: true, Attributes: map[string]string{"email": "off@example.com", "email_verified": "true"}})
	e.addUser(recovery.User{Username: "none", Attributes: map[string]string{"email": "none@example.com"}})

	if d, err := e.recover("quiet", "caps"); err != nil || d.Destination != "c***@e***" {
		t.Fatalf(`"True" is accepted: %+v, %v`, d, err)
	}
	_, err := e.recover("quiet", "yes")
	wantErr(t, err, recovery.ErrInternal, "")
	if !strings.Contains(fmt.Sprint(errors.Unwrap(err)), `email_verified = "yes"`) {
		t.Fatalf("the cause %v does not name the attribute", errors.Unwrap(err))
	}
	if e.sender.Len() != 1 {
		t.Fatalf("%d messages, want 1", e.sender.Len())
	}
	for who, want := range map[string]string{
		"nobody": "no user matches",
		"off":    "User is disabled.",
		"none":   "no verified email or phone number usable under AccountRecovery",
		"yes":    `email_verified = "yes"`,
	} {
		x, err := e.engine.Explain(e.ctx, who)
		if err != nil || x.Sends || !strings.Contains(x.Reason, want) {
			t.Errorf("Explain(%s) = %+v, %v; want a reason with %q", who, x, err, want)
		}
	}
	if x, _ := e.engine.Explain(e.ctx, "caps"); !x.Sends || x.Destination != "c***@e***" || !x.Found {
		t.Errorf("Explain(caps) = %+v", x)
	}
	// The operator's log says why an answer was simulated.
	e.recover("quiet", "none")
	if !strings.Contains(e.logs.String(), `"reason":"no verified email or phone number usable under AccountRecovery"`) {
		t.Fatalf("no log line says why the answer was simulated:\n%s", e.logs.String())
	}
}

// minimalUsers returns users with nothing but a sub and a verified email:
// the zero value of every other field must mean an enabled, confirmed user.
type minimalUsers struct{}

func (minimalUsers) FindUser(_ context.Context, _ string, q recovery.UserQuery) (recovery.User, error) {
	if q.Key != "min@example.com" {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	return recovery.User{Sub: "s1", Attributes: map[string]string{"email": "min@example.com", "email_verified": "true"}}, nil
}

func (minimalUsers) SetPassword(context.Context, string, recovery.PasswordChange) error { return nil }

func TestZeroValueUserGetsACode(t *testing.T) {
	e := newEnv(t)
	e.cfg.Users = minimalUsers{}
	e.rebuild()
	if d, err := e.recover("quiet", "min@example.com"); err != nil || d.Destination != "m***@e***" {
		t.Fatalf("%+v, %v", d, err)
	}
	if e.sender.Len() != 1 {
		t.Fatalf("%d messages: a user with zero-valued fields got no code", e.sender.Len())
	}
}

// emailOnlyUsers is a user store over a table without phone numbers, as
// pgxstore.TableUserStore is without a Phone column.
type emailOnlyUsers struct{ minimalUsers }

func (emailOnlyUsers) Media() []recovery.DeliveryMedium {
	return []recovery.DeliveryMedium{recovery.Email}
}

// A service whose accounts have no phone numbers never answers SMS, not
// even for identifiers that match nobody: under Cognito's legacy rule
// (phone first) an SMS answer would tell a missing account from a real
// one, every real user being answered EMAIL.
func TestSimulationKeepsToTheStoresMedia(t *testing.T) {
	e := newEnv(t)
	e.cfg.Users = emailOnlyUsers{}
	e.rebuild()
	real, err := e.recover("quiet", "min@example.com")
	if err != nil || real.DeliveryMedium != recovery.Email {
		t.Fatalf("the real user: %+v, %v", real, err)
	}
	for i := range 200 {
		for _, id := range []string{fmt.Sprintf("nobody%d@example.com", i), fmt.Sprintf("user%d", i), fmt.Sprintf("+1555010%04d", i)} {
			d, err := e.recover("quiet", id)
			if err != nil || d.DeliveryMedium != recovery.Email || d.AttributeName != recovery.AttrEmail {
				t.Fatalf("%s answered %+v, %v: a medium no account has", id, d, err)
			}
		}
	}
	// Without the ability, the legacy rule spreads simulated answers over
	// both media: the leak the ability closes.
	e.cfg.Users = minimalUsers{}
	e.rebuild()
	sms := 0
	for i := range 200 {
		if d, _ := e.recover("quiet", fmt.Sprintf("user%d", i)); d.DeliveryMedium == recovery.SMS {
			sms++
		}
	}
	if sms == 0 {
		t.Fatal("the control never answered SMS: the test no longer tells anything")
	}
	// A configuration with no mechanism the store can serve is refused.
	e.cfg.Users = emailOnlyUsers{}
	e.cfg.AccountRecovery = []recovery.RecoveryMechanism{recovery.VerifiedPhoneNumber}
	if _, err := recovery.New(e.cfg); err == nil || !strings.Contains(err.Error(), "serves only [EMAIL]") {
		t.Fatalf("New = %v, want a refusal naming the store's media", err)
	}
}

// A delivery that waited in the outbox is dropped when its code is no
// longer current (a newer code, a completed reset), and sent when it is;
// codes a CodeIssuingFinder issued (bound to the user by the store) too.
func TestSupersededDeliveryDropped(t *testing.T) {
	t.Run("two steps", func(t *testing.T) { testSupersededDeliveryDropped(t, newEnv(t)) })
	t.Run("finder", func(t *testing.T) {
		e, f := newFinderEnv(t)
		testSupersededDeliveryDropped(t, e)
		if f.calls != 2 {
			t.Errorf("FindUserIssuing called %d times, want 2", f.calls)
		}
	})
}

func testSupersededDeliveryDropped(t *testing.T, e *env) {
	var mu sync.Mutex
	var held []recovery.Delivery
	e.cfg.Outbox = &holdingOutbox{put: func(x recovery.Delivery) { mu.Lock(); held = append(held, x); mu.Unlock() }}
	var events []recovery.EventKind
	e.cfg.Hooks.Observer = recovery.ObserverFunc(func(_ context.Context, ev recovery.Event) {
		mu.Lock()
		events = append(events, ev.Kind)
		mu.Unlock()
	})
	eng, err := recovery.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.alice()
	ask := func() recovery.Delivery {
		t.Helper()
		if _, err := eng.Recover(e.ctx, recovery.RecoverRequest{ClientID: "quiet", Username: "alice"}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return held[len(held)-1]
	}
	first := ask()
	e.clock.Advance(time.Second)
	second := ask()
	e.clock.Advance(recovery.StaleDelivery) // both waited: the check applies
	if err := eng.Deliver(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	if e.sender.Len() != 0 {
		t.Fatal("a delivery whose code a newer one replaced was sent")
	}
	if err := eng.Deliver(e.ctx, second); err != nil || e.sender.Len() != 1 {
		t.Fatalf("the current code was not sent: %v, %d messages", err, e.sender.Len())
	}
	if err := eng.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "quiet", Username: "alice", ConfirmationCode: second.Code, Password: "N3w-passw0rd!"}); err != nil {
		t.Fatal(err)
	}
	if err := eng.Deliver(e.ctx, second); err != nil || e.sender.Len() != 1 {
		t.Fatalf("a code already used was sent again: %v, %d messages", err, e.sender.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(fmt.Sprint(events), string(recovery.EventDeliverySuperseded)); n != 2 {
		t.Fatalf("events %v: want 2 %s", events, recovery.EventDeliverySuperseded)
	}
}

// Under overload the log gets one line per kind and interval, with the
// count of the lines it stands for, never one line per refused request.
func TestRepeatedWarningsAggregated(t *testing.T) {
	e := newEnv(t)
	e.sender.Fail(errors.New("mail server down"))
	e.alice()
	recoverN := func(n int) {
		for range n {
			e.recover("quiet", "alice")
		}
	}
	recoverN(50) // the budget refuses most; every refusal of delivery or budget would be a line
	lines := strings.Count(e.logs.String(), `"msg":"recovery: delivery failed"`)
	if lines != 1 {
		t.Fatalf("%d delivery-failed lines for repeated failures within one interval, want 1", lines)
	}
	e.clock.Advance(recovery.DefaultLogInterval + recovery.DefaultBudgetWindow)
	recoverN(1)
	logs := e.logs.String()
	if n := strings.Count(logs, `"msg":"recovery: delivery failed"`); n != 2 || !strings.Contains(logs, `"suppressed":`) {
		t.Fatalf("after the interval: %d lines, suppressed count present: %v", n, strings.Contains(logs, `"suppressed":`))
	}
}
