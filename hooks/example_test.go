package hooks_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// After a reset, revoke the user's sessions and then write an audit record:
// two hooks where the engine takes one. The chain runs them in order and
// stops at the first error, so the hook that must not be skipped goes
// first.
func ExampleChainPostConfirm() {
	revokeSessions := recovery.PostConfirmFunc(func(_ context.Context, e recovery.PostConfirmEvent) error {
		fmt.Println("revoking the sessions of", e.Username)
		return nil
	})
	audit := recovery.PostConfirmFunc(func(_ context.Context, e recovery.PostConfirmEvent) error {
		fmt.Printf("audit: the password of %s was reset (%s)\n", e.Username, e.TriggerSource)
		return nil
	})

	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	mail := capturesender.New() // smtpsender.New(...) in production
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: mail,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("example-key-32-bytes-long-at-least!")}},
		Hooks:   recovery.Hooks{PostConfirm: hooks.ChainPostConfirm(revokeSessions, audit)},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx)

	if _, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		log.Fatal(err)
	}
	// The code is delivered off the request path: wait for it.
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	code, err := mail.AwaitCode(waitCtx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	fmt.Println("confirmed:", err == nil)
	// Output:
	// revoking the sessions of alice
	// audit: the password of alice was reset (PostConfirmation_ConfirmForgotPassword)
	// confirmed: true
}
