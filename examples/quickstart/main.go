// Command quickstart runs the whole recovery flow in memory, with no setup:
//
//	go run ./examples/quickstart
//
// It seeds a user, asks for a code, reads the code from the capturing sender
// (where a real deployment would email it), confirms it with a new password,
// shows that the code cannot be replayed and that the new password verifies.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	users := memstore.NewUserStore()
	sender := capturesender.New()
	hasher := recovery.Argon2id{}
	engine, err := setup(ctx, users, sender, hasher)
	if err != nil {
		return err
	}
	defer engine.Close(ctx)
	return resetAlice(ctx, engine, users, sender, hasher)
}

// setup seeds alice and builds the engine.
func setup(ctx context.Context, users *memstore.UserStore, sender *capturesender.Sender, hasher recovery.PasswordHasher) (*recovery.Engine, error) {
	oldHash, err := hasher.Hash("Old-passw0rd!")
	if err != nil {
		return nil, err
	}
	_, err = users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username: "alice",
		Status:   recovery.StatusConfirmed,
		Attributes: map[string]string{
			"email":          "alice@example.com",
			"email_verified": "true",
		},
	}, oldHash)
	if err != nil {
		return nil, err
	}

	// In production the key comes from your secret store and stays the same
	// across restarts; a fresh one here makes the demo self-contained.
	secret := make([]byte, 32)
	rand.Read(secret)

	engine, err := recovery.New(recovery.Config{
		Users:   users,
		Codes:   memstore.NewCodeStore(),
		Sender:  sender,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: secret}},
		Hasher:  hasher,
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("policy: worst-case guess probability per account per day %.2g\n", engine.Policy().GuessProbability())
	return engine, nil
}

// resetAlice runs the flow: a code, a new password, a replay that fails,
// and the new password in the store.
func resetAlice(ctx context.Context, engine *recovery.Engine, users *memstore.UserStore, sender *capturesender.Sender, hasher recovery.PasswordHasher) error {
	details, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "Alice"})
	if err != nil {
		return err
	}
	fmt.Printf("code sent by %s to %s (%s)\n", details.DeliveryMedium, details.Destination, details.AttributeName)

	// The engine sends off the request path, so the message arrives a
	// moment after Recover returns.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	code, err := sender.AwaitCode(waitCtx, "alice")
	if err != nil {
		return fmt.Errorf("no code was captured: %w", err)
	}
	fmt.Printf("captured a %d-digit code\n", len(code))

	const newPassword = "New-passw0rd!"
	if err := engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: newPassword}); err != nil {
		return err
	}
	fmt.Println("password reset")

	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "Other-passw0rd!"})
	if !errors.Is(err, recovery.ErrExpiredCode) {
		return fmt.Errorf("replaying the code: got %v, want ExpiredCodeException", err)
	}
	fmt.Println("replaying the code fails:", err)

	hash, err := users.PasswordHash(ctx, recovery.DefaultPoolID, "alice")
	if err != nil {
		return err
	}
	newOK, err := hasher.Verify(newPassword, hash)
	if err != nil {
		return err
	}
	oldOK, err := hasher.Verify("Old-passw0rd!", hash)
	if err != nil {
		return err
	}
	if !newOK || oldOK {
		return fmt.Errorf("after the reset: new password verifies %v, old password verifies %v", newOK, oldOK)
	}
	fmt.Println("the new password verifies; the old one no longer does")
	return nil
}
