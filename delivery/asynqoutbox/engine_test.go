package asynqoutbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Through a real engine: Recover puts the delivery in asynq, a worker
// hands it back to the engine, the sender gets the code, and the code
// sets a new password.
func TestEngineDeliversThroughAsynq(t *testing.T) {
	c := realRedis(t)
	queue := newQueue(t, c)
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	keys := []recovery.Key{{ID: "k1", Secret: make([]byte, 32)}}
	rand.Read(keys[0].Secret)
	outbox, err := asynqoutbox.New(asynqoutbox.Options{
		Redis: c, Keys: keys, Queue: queue, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender, Outbox: outbox,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    keys,
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		engine.Close(ctx)
	})

	for _, name := range []string{"alice", "nobody@example.com"} { // a user and a decoy
		if _, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: name}); err != nil {
			t.Fatalf("Recover(%s): %v", name, err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	code, err := sender.AwaitCode(wait, "alice")
	if err != nil {
		t.Fatalf("no code reached the sender through asynq: %v", err)
	}
	if err := engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-Passw0rd!"}); err != nil {
		t.Fatalf("Confirm with the delivered code: %v", err)
	}

	closeCtx, cancelClose := context.WithTimeout(ctx, 10*time.Second)
	defer cancelClose()
	if err := engine.Close(closeCtx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The code, then the password-changed notice, sealed through the queue
	// like the code; the decoy sends nothing.
	if msgs := sender.Messages(); len(msgs) != 2 || msgs[1].Code != "" || msgs[1].Subject != "Your password was changed" {
		t.Fatalf("messages sent: %v; want the code and the password-changed notice (the decoy sends nothing)", msgs)
	}
	for i, b := range rawQueue(t, c, queue) {
		for _, secret := range []string{code, "alice@example.com"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("key %d of the queue holds %q in clear", i, secret)
			}
		}
	}
}
