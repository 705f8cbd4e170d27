package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func (e *env) adminReset(username string) error {
	return e.engine.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{UserPoolID: pool, Username: username})
}

// status is the stored status of the user named username.
func (e *env) status(username string) recovery.UserStatus {
	e.t.Helper()
	u, err := e.users.FindUser(e.ctx, pool, recovery.UserQuery{Identifier: username, Key: recovery.FoldIdentifier(username)})
	if err != nil {
		e.t.Fatalf("FindUser(%s): %v", username, err)
	}
	return u.Status
}

func TestAdminResetUserPassword(t *testing.T) {
	var (
		mu     sync.Mutex
		events []recovery.Event
		hooked []recovery.CustomMessageEvent
	)
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.Observer = recovery.ObserverFunc(func(_ context.Context, ev recovery.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
		})
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(_ context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			hooked = append(hooked, ev)
			return recovery.CustomMessage{}, nil
		})
	})
	alice := e.alice()
	err := e.engine.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{
		UserPoolID: pool, Username: "ALICE@example.com", ClientMetadata: map[string]string{"reason": "compromise"},
	})
	if err != nil {
		t.Fatalf("AdminResetUserPassword: %v", err)
	}
	if got := e.status("alice"); got != recovery.StatusResetRequired {
		t.Fatalf("status after the reset = %s, want RESET_REQUIRED", got)
	}
	m, ok := e.sender.Last("alice")
	if !ok || m.Medium != recovery.Email || m.To != "alice@example.com" || m.ClientID != "" {
		t.Fatalf("message = %+v, %v; want an email to alice@example.com without a client", m, ok)
	}
	// The code's message, then the password-changed notice.
	if len(hooked) != 2 || hooked[0].TriggerSource != recovery.TriggerCustomMessage || hooked[0].ClientMetadata["reason"] != "compromise" ||
		hooked[1].TriggerSource != recovery.TriggerCustomMessagePasswordChanged {
		t.Fatalf("custom-message hook saw %+v, want a CustomMessage_ForgotPassword event with the ClientMetadata, then a CustomMessage_PasswordChanged one", hooked)
	}
	if code, ok := e.sender.LastCode("alice"); !ok || code == "" || m.Kind != recovery.DeliveryPasswordChanged || m.Code != "" {
		t.Fatalf("want a code message, then a notice without a code; last message %+v", m)
	}
	mu.Lock()
	last := events[len(events)-1]
	mu.Unlock()
	if last.Kind != recovery.EventRequested || last.Operation != recovery.OpAdminResetUserPassword || last.Sub != alice.Sub || last.Medium != recovery.Email {
		t.Fatalf("last event = %+v, want requested for AdminResetUserPassword with alice's sub and EMAIL", last)
	}

	// A ForgotPassword user is as before: the code completes the reset.
	if err := e.confirm("quiet", "alice", e.lastCode("alice"), "New-passw0rd!"); err != nil {
		t.Fatalf("Confirm with the admin reset's code: %v", err)
	}
	if got := e.status("alice"); got != recovery.StatusConfirmed {
		t.Fatalf("status after Confirm = %s, want CONFIRMED", got)
	}
	hash, _ := e.users.StoredPasswordHash(e.ctx, pool, alice.Sub)
	if ok, _ := (recoverytest.InsecureHasher{}).Verify("New-passw0rd!", hash); !ok {
		t.Fatalf("the new password was not stored")
	}
}

func TestAdminResetUserPasswordStates(t *testing.T) {
	for _, c := range []struct {
		name     string
		user     recovery.User
		kind     error
		message  string
		changed  bool
		hasEmail bool
	}{
		{"confirmed", recovery.User{Status: recovery.StatusConfirmed}, nil, "", true, true},
		{"reset required", recovery.User{Status: recovery.StatusResetRequired}, nil, "", true, true},
		{"disabled", recovery.User{Status: recovery.StatusConfirmed, Disabled: true}, recovery.ErrNotAuthorized, "User is disabled.", false, true},
		{"force change password", recovery.User{Status: recovery.StatusForceChangePassword}, recovery.ErrNotAuthorized, "User password cannot be reset in the current state.", false, true},
		{"unconfirmed", recovery.User{Status: recovery.StatusUnconfirmed}, recovery.ErrNotAuthorized, "User password cannot be reset in the current state.", false, true},
		{"external provider", recovery.User{Status: recovery.StatusExternalProvider}, recovery.ErrNotAuthorized, "User password cannot be reset in the current state.", false, true},
		{"no verified channel", recovery.User{Status: recovery.StatusConfirmed}, recovery.ErrInvalidParameter,
			"Cannot reset password for the user as there is no registered/verified email or phone_number", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			u := c.user
			u.Username = "carol"
			u.Attributes = map[string]string{"email": "carol@example.com", "email_verified": "true"}
			if !c.hasEmail {
				u.Attributes["email_verified"] = "false"
			}
			e.addUser(u)
			err := e.adminReset("carol")
			want := u.Status
			if c.changed {
				want = recovery.StatusResetRequired
			}
			if got := e.status("carol"); got != want {
				t.Errorf("status = %s, want %s", got, want)
			}
			if c.kind == nil {
				if err != nil {
					t.Fatalf("AdminResetUserPassword: %v", err)
				}
				e.lastCode("carol")
				return
			}
			wantErr(t, err, c.kind, c.message)
			if e.sender.Len() != 0 {
				t.Errorf("%d messages sent, want none", e.sender.Len())
			}
		})
	}
}

func TestAdminResetUserPasswordRefusals(t *testing.T) {
	// Every client hides user existence: the admin still learns it.
	e := newEnv(t, func(c *recovery.Config) { c.Clients = []recovery.Client{{ID: "quiet"}} })
	e.alice()
	wantErr(t, e.adminReset("nobody"), recovery.ErrUserNotFound, "User does not exist.")
	err := e.engine.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{UserPoolID: "us-east-1_other", Username: "alice"})
	wantErr(t, err, recovery.ErrResourceNotFound, "User pool us-east-1_other does not exist.")
	err = e.engine.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{})
	wantErr(t, err, recovery.ErrInvalidParameter, "2 validation errors detected: Value at 'userPoolId' failed to satisfy constraint: Member must not be null; "+
		"Value at 'username' failed to satisfy constraint: Member must not be null")
	err = e.engine.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{UserPoolID: "pool\nid", Username: "alice"})
	wantErr(t, err, recovery.ErrInvalidParameter, "")
	if got := e.status("alice"); got != recovery.StatusConfirmed || e.sender.Len() != 0 {
		t.Fatalf("after refusals: status %s, %d messages; want CONFIRMED and none", got, e.sender.Len())
	}
}

// onlyUserStore hides every optional ability of the store it wraps.
type onlyUserStore struct{ recovery.UserStore }

func TestAdminResetUserPasswordNotEnabled(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.cfg.Users = onlyUserStore{e.users}
	e.rebuild()
	wantErr(t, e.adminReset("alice"), recovery.ErrOperationNotEnabled, "AdminResetUserPassword is not enabled: the user store cannot require a password reset.")
	wantErr(t, e.adminReset("nobody"), recovery.ErrOperationNotEnabled, "")

	e.cfg.Users = e.users
	e.cfg.AccountRecovery = []recovery.RecoveryMechanism{recovery.AdminOnly}
	e.rebuild()
	wantErr(t, e.adminReset("alice"), recovery.ErrOperationNotEnabled, "")

	e.cfg.AccountRecovery = nil
	e.cfg.RecoveryDisabled = true
	e.rebuild()
	wantErr(t, e.adminReset("alice"), recovery.ErrOperationNotEnabled, "")
	if got := e.status("alice"); got != recovery.StatusConfirmed || e.sender.Len() != 0 {
		t.Fatalf("status %s, %d messages; want CONFIRMED and none", got, e.sender.Len())
	}
}

// TestAdminResetUserPasswordBudget: the reset charges the user's budget,
// and a spent budget does not keep the password from being reset.
func TestAdminResetUserPasswordBudget(t *testing.T) {
	e := newEnv(t)
	e.alice()
	for i := range recovery.DefaultBudget - 1 {
		if _, err := e.recover("web", "alice"); err != nil {
			t.Fatalf("Recover %d: %v", i, err)
		}
	}
	if err := e.adminReset("alice"); err != nil {
		t.Fatalf("AdminResetUserPassword with one code left in the budget: %v", err)
	}
	if _, err := e.recover("web", "alice"); err == nil {
		t.Fatalf("Recover after the admin reset used the last code of the budget: no error")
	}
	if err := e.users.SetPassword(e.ctx, pool, recovery.PasswordChange{Sub: e.aliceSub(), PasswordHash: "x", Status: recovery.StatusConfirmed}); err != nil {
		t.Fatal(err)
	}
	sent := e.sender.Len()
	wantErr(t, e.adminReset("alice"), recovery.ErrLimitExceeded, "")
	if got := e.status("alice"); got != recovery.StatusResetRequired {
		t.Fatalf("status after a reset with a spent budget = %s, want RESET_REQUIRED", got)
	}
	for _, m := range e.sender.Messages()[sent:] {
		if m.Code != "" || m.Kind != recovery.DeliveryPasswordChanged {
			t.Fatalf("a code was sent with the budget spent: %+v", m)
		}
	}
	if e.sender.Len() == sent {
		t.Fatalf("no password-changed notice after a reset with the budget spent")
	}
}

func (e *env) aliceSub() string {
	e.t.Helper()
	u, err := e.users.FindUser(e.ctx, pool, recovery.UserQuery{Identifier: "alice", Key: "alice"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Sub
}

// ExampleEngine_AdminResetUserPassword: an administrator (a support tool, a
// response to a breach) makes alice's password unusable; she gets a code
// and sets a new one with ConfirmForgotPassword. Authenticate the
// administrator before calling it: cognitohttp does with Options.Admin.
func ExampleEngine_AdminResetUserPassword() {
	ctx := context.Background()
	users := memstore.NewUserStore() // has recovery.PasswordResetRequirer
	sender := capturesender.New()
	users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "2026-01", Secret: loadKey()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx)

	err = engine.AdminResetUserPassword(ctx, recovery.AdminResetRequest{UserPoolID: "default", Username: "alice"})
	fmt.Println("reset:", err)
	u, _ := users.FindUser(ctx, "default", recovery.UserQuery{Identifier: "alice", Key: "alice"})
	fmt.Println("status:", u.Status) // your sign-in answers PasswordResetRequiredException

	code, _ := sender.AwaitCode(ctx, "alice")
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	u, _ = users.FindUser(ctx, "default", recovery.UserQuery{Identifier: "alice", Key: "alice"})
	fmt.Println("confirmed:", err, u.Status)

	err = engine.AdminResetUserPassword(ctx, recovery.AdminResetRequest{UserPoolID: "default", Username: "mallory"})
	fmt.Println(err) // the administrator learns who does not exist
	// Output:
	// reset: <nil>
	// status: RESET_REQUIRED
	// confirmed: <nil> CONFIRMED
	// UserNotFoundException: User does not exist.
}

// refusingOutbox keeps the deliveries it refuses, to show their codes died.
type refusingOutbox struct{ refused []recovery.Delivery }

func (o *refusingOutbox) Bind(recovery.Deliverer) error { return nil }
func (o *refusingOutbox) Put(_ context.Context, d recovery.Delivery) error {
	o.refused = append(o.refused, d)
	return errors.New("queue full")
}

// TestAdminResetUserPasswordOutboxRefuses: a delivery the outbox refuses
// is InternalErrorException, and its code is revoked.
func TestAdminResetUserPasswordOutboxRefuses(t *testing.T) {
	box := &refusingOutbox{}
	e := newEnv(t)
	e.alice()
	e.cfg.Outbox = nil
	cfg := e.cfg
	cfg.Outbox = box
	eng, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = eng.AdminResetUserPassword(e.ctx, recovery.AdminResetRequest{UserPoolID: pool, Username: "alice"})
	wantErr(t, err, recovery.ErrInternal, "")
	// The code's delivery, then the notice (refused too).
	if len(box.refused) != 2 || box.refused[0].Code == "" || box.refused[1].Kind != recovery.DeliveryPasswordChanged {
		t.Fatalf("the outbox saw %+v, want the code's delivery and a notice", box.refused)
	}
	if strings.Contains(err.Error(), box.refused[0].Code) {
		t.Fatalf("the error holds the code")
	}
	err = eng.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: box.refused[0].Code, Password: "N3w-passw0rd!"})
	wantErr(t, err, recovery.ErrExpiredCode, "")
}
