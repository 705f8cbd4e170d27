package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// loadKey stands in for reading the hashing key from your secret store; it
// must be the same on every instance and across restarts.
func loadKey() []byte { return []byte("example-key-32-bytes-long-at-least!") }

// Example shows the embedding: wire your stores and sender once, then call
// Recover and Confirm from your HTTP handlers. This is the README's example.
func Example() {
	ctx := context.Background()
	users := memstore.NewUserStore() // or your own recovery.UserStore
	sender := capturesender.New()    // smtpsender / webhooksender in production

	users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")

	engine, err := recovery.New(recovery.Config{
		Users:   users,
		Codes:   memstore.NewCodeStore(),
		Sender:  sender,
		Clients: []recovery.Client{{ID: "web"}}, // hides whether users exist
		Keys:    []recovery.Key{{ID: "2026-01", Secret: loadKey()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx) // at shutdown: drains deliveries on their way

	// POST /forgot-password
	details, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent to", details.Destination)

	// POST /confirm-forgot-password, with the code from the email (sent a
	// moment later, off the request path)
	code, _ := sender.AwaitCode(ctx, "alice")
	err = engine.Confirm(ctx, recovery.ConfirmRequest{
		ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!",
	})
	fmt.Println("reset:", err == nil)
	// Output:
	// sent to a***@e***
	// reset: true
}

func newExampleEngine(mutate func(*recovery.Config)) (*recovery.Engine, *capturesender.Sender) {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	sender := capturesender.New()
	cfg := recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}, {ID: "quiet"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: loadKey()}},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := recovery.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	return e, sender
}

// Errors carry the Cognito exception name; test for a kind with errors.Is.
func ExampleEngine_Confirm_errors() {
	engine, _ := newExampleEngine(nil)
	ctx := context.Background()
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})

	err := engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: "not-it", Password: "N3w-password!"})
	fmt.Println(errors.Is(err, recovery.ErrCodeMismatch))

	var e *recovery.Error
	if errors.As(err, &e) {
		fmt.Println(e.Name)
		fmt.Println(e.Message)
	}
	// Output:
	// true
	// CodeMismatchException
	// Invalid verification code provided, please try again.
}

// With PreventUserExistenceErrors, an unknown user gets an answer shaped like
// a real one, stable from call to call, and nothing is sent.
func ExampleClient_preventUserExistenceErrors() {
	engine, sender := newExampleEngine(nil)
	ctx := context.Background()

	_, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "mallory@example.org"})
	fmt.Println("LEGACY:", err)

	d, _ := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "quiet", Username: "mallory@example.org"})
	fmt.Println("ENABLED:", d.DeliveryMedium, d.Destination)
	fmt.Println("messages sent:", sender.Len())
	// Output:
	// LEGACY: UserNotFoundException: Username/client id combination not found.
	// ENABLED: EMAIL m***@e***
	// messages sent: 0
}

// A weak or common password with the right code is refused without using
// the code up.
func ExamplePasswordPolicy() {
	engine, sender := newExampleEngine(nil)
	ctx := context.Background()
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := sender.LastCode("alice")

	err := engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "password"})
	fmt.Println(err)
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "Pa55word!"})
	fmt.Println(err)
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "Orbit-Kettle-77"})
	fmt.Println(err)
	// Output:
	// InvalidPasswordException: Password does not conform to policy: Password must have uppercase characters
	// InvalidPasswordException: Password does not conform to policy: Password is too common or has appeared in a data breach
	// <nil>
}

// Templates replace the built-in English text per locale; the user's locale
// attribute or ClientMetadata["locale"] picks one.
func ExampleTemplate() {
	engine, sender := newExampleEngine(func(c *recovery.Config) {
		c.Templates = map[string]recovery.Template{
			"de": {EmailSubject: "Ihr Code", EmailText: "Hallo {username}, Ihr Code lautet {####}."},
		}
	})
	ctx := context.Background()
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", ClientMetadata: map[string]string{"locale": "de-AT"}})
	m, _ := sender.Last("alice")
	fmt.Println(m.Locale, "|", m.Subject)
	fmt.Println(m.Text == "Hallo alice, Ihr Code lautet "+m.Code+".")
	// Output:
	// de | Ihr Code
	// true
}

// The policy's worst case: the chance an attacker guesses a valid code for
// one account within a day.
func ExamplePolicy_GuessProbability() {
	fmt.Printf("%.2g\n", recovery.Policy{}.GuessProbability())
	fmt.Printf("%.2g\n", recovery.Policy{FailureBudget: 20}.GuessProbability())
	// Output:
	// 0.00012
	// 0.00048
}

// Hooks are plain Go functions; this one revokes sessions after a reset,
// which Cognito does not do by itself.
func ExampleHooks_postConfirm() {
	engine, sender := newExampleEngine(func(c *recovery.Config) {
		c.Hooks.PostConfirm = recovery.PostConfirmFunc(func(ctx context.Context, e recovery.PostConfirmEvent) error {
			fmt.Println("revoking sessions of", e.Username)
			return nil
		})
	})
	ctx := context.Background()
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := sender.LastCode("alice")
	engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	// Output:
	// revoking sessions of alice
}

// MaskEmail and MaskPhone produce Cognito's masked destinations.
func ExampleMaskEmail() {
	fmt.Println(recovery.MaskEmail("test@test.com"))
	fmt.Println(recovery.MaskPhone("+15555550100"))
	// Output:
	// t***@t***
	// +*******0100
}
