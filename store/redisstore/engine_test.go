package redisstore_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// TestEngine runs ForgotPassword and ConfirmForgotPassword end to end on
// miniredis: memstore users, redisstore codes and request limits, and the
// capturing sender.
func TestEngine(t *testing.T) {
	m, c := newMiniredis(t)
	ctx := t.Context()
	users := memstore.NewUserStore()
	if _, err := users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, ""); err != nil {
		t.Fatal(err)
	}
	sender := capturesender.New()
	now := t0
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: newCodeStore(t, c, ""), Limiter: newLimiter(t, c, ""), Sender: sender,
		Outbox:  recovery.NewInlineOutbox(), // the test reads the code right after Recover
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("test-key-of-at-least-32-bytes-long!")}},
		Policy:  recovery.Policy{ClientRequests: recovery.Rate{Limit: 5, Window: time.Minute}},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}

	details, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if details.Destination != "a***@e***" {
		t.Errorf("Recover sent the code to %q", details.Destination)
	}
	code, ok := sender.LastCode("alice")
	if !ok {
		t.Fatal("no code was sent")
	}
	confirm := func(code string) error {
		return e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	now = now.Add(time.Second)
	if err := confirm(wrong); !errors.Is(err, recovery.ErrCodeMismatch) {
		t.Errorf("Confirm with a wrong code: %v, want CodeMismatchException", err)
	}
	if err := confirm(code); err != nil {
		t.Errorf("Confirm with the code sent: %v", err)
	}
	if err := confirm(code); !errors.Is(err, recovery.ErrExpiredCode) {
		t.Errorf("Confirm with the code again: %v, want ExpiredCodeException", err)
	}
	hash, err := users.PasswordHash(ctx, "default", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := (recoverytest.InsecureHasher{}).Verify("N3w-password!", hash); !ok {
		t.Errorf("the new password was not stored")
	}

	// Four calls so far; the client may make one more this minute.
	if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		t.Errorf("the fifth request: %v", err)
	}
	if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); !errors.Is(err, recovery.ErrTooManyRequests) {
		t.Errorf("the sixth request in a minute: %v, want TooManyRequestsException", err)
	}

	for _, k := range m.Keys() {
		if m.TTL(k) <= 0 {
			t.Errorf("key %q has no TTL", k)
		}
	}
	if len(m.Keys()) != 2 {
		t.Errorf("keys %v, want alice's record and the client's counter", m.Keys())
	}

	// Redis down: the engine answers InternalErrorException.
	m.Close()
	if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); !errors.Is(err, recovery.ErrInternal) {
		t.Errorf("Recover with Redis down: %v, want InternalErrorException", err)
	}
}

// TestAnswersHideExistence: no single ForgotPassword answer tells an
// existing identifier from a missing one, with codes on the real Redis.
func TestAnswersHideExistence(t *testing.T) {
	c := realRedis(t)
	recoverytest.TestAnswersHideExistence(t, func(t *testing.T) (recovery.UserStore, recovery.CodeStore) {
		prefix := newPrefix()
		deleteOnCleanup(t, c, prefix)
		return memstore.NewUserStore(), newCodeStore(t, c, prefix)
	}, nil)
}
