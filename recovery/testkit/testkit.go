// Package testkit gives a host's tests a recovery engine in one call: on
// the in-memory stores, with a fast password hasher, a capturing sender and
// delivery during the request, so a test reads the code a user was sent
// right after asking for it:
//
//	kit := testkit.New(t)
//	kit.AddUser("alice@example.com")
//	mux := routes(kit.Engine) // the host's handlers, on the kit's engine
//	kit.Post(mux, "/password/forgot", `{"email": "alice@example.com"}`, http.StatusOK)
//	code := kit.Code("alice@example.com")
//	kit.Post(mux, "/password/reset", `{"email": "alice@example.com", "code": "`+code+`", "password": "N3w-passw0rd!"}`, http.StatusNoContent)
//	if !kit.PasswordIs("alice@example.com", "N3w-passw0rd!") { ... }
//
// The client is "web" (Client), which hides user existence, as production
// clients should. Use it for tests only: the hasher is insecure.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Client is the ID of the kit's app client.
const Client = "web"

// Kit is an engine on in-memory stores and what a test needs around it.
type Kit struct {
	t    testing.TB
	pool string
	// Engine is the engine under test, to hand to the host's handlers.
	Engine *recovery.Engine
	// Users, Codes and Sender are its stores and its sender.
	Users  *memstore.UserStore
	Codes  *memstore.CodeStore
	Sender *capturesender.Sender
	// Hasher hashed the users' passwords (recoverytest.InsecureHasher).
	Hasher recovery.PasswordHasher
}

// New returns a Kit. configure, if given, changes the Config before the
// engine is built (another client, a policy, a hook). The engine is closed
// when the test ends.
func New(t testing.TB, configure ...func(*recovery.Config)) *Kit {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	k := &Kit{t: t, Users: memstore.NewUserStore(), Codes: memstore.NewCodeStore(), Sender: capturesender.New(), Hasher: recoverytest.InsecureHasher{}}
	cfg := recovery.Config{
		Users: k.Users, Codes: k.Codes, Sender: k.Sender,
		Clients: []recovery.Client{{ID: Client}},
		Keys:    []recovery.Key{{ID: "testkit", Secret: key}},
		Hasher:  k.Hasher,
		Outbox:  recovery.NewInlineOutbox(), // the code is there when Recover returns
		Logger:  slog.New(slog.DiscardHandler),
	}
	for _, c := range configure {
		c(&cfg)
	}
	e, err := recovery.New(cfg)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	k.pool = cfg.PoolID
	if k.pool == "" {
		k.pool = recovery.DefaultPoolID
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.Close(ctx)
	})
	k.Engine = e
	return k
}

// AddUser creates an enabled user whose username and verified email are
// email, with the password "Old-passw0rd!", and returns it.
func (k *Kit) AddUser(email string) recovery.User {
	k.t.Helper()
	return k.Add(recovery.User{Username: email, Attributes: map[string]string{
		recovery.AttrEmail: email, recovery.AttrEmailVerified: "true",
	}}, "Old-passw0rd!")
}

// Add creates u with the given password (none if empty) and returns it as
// stored.
func (k *Kit) Add(u recovery.User, password string) recovery.User {
	k.t.Helper()
	var hash string
	if password != "" {
		hash, _ = k.Hasher.Hash(password)
	}
	created, err := k.Users.CreateUser(context.Background(), k.pool, u, hash)
	if err != nil {
		k.t.Fatalf("testkit: adding %s: %v", u.Username, err)
	}
	return created
}

// Code returns the newest code sent to to (an address, a number or a
// username), failing the test if none was.
func (k *Kit) Code(to string) string {
	k.t.Helper()
	code, ok := k.Sender.LastCode(to)
	if !ok {
		k.t.Fatalf("testkit: no code was sent to %s", to)
	}
	return code
}

// PasswordIs reports whether the user found by identifier now has password.
func (k *Kit) PasswordIs(identifier, password string) bool {
	k.t.Helper()
	hash, err := k.Users.PasswordHash(context.Background(), k.pool, identifier)
	if err != nil {
		k.t.Fatalf("testkit: reading the password of %s: %v", identifier, err)
	}
	ok, _ := k.Hasher.Verify(password, hash)
	return ok
}

// Post sends body, a JSON document, to h as a POST to path (from
// 192.0.2.1, as httptest requests come) and fails the test unless the answer
// has status want. It returns the answer's JSON object, nil for an empty
// body.
func (k *Kit) Post(h http.Handler, path, body string, want int) map[string]any {
	k.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		k.t.Fatalf("testkit: POST %s answered %d %s; want %d", path, rec.Code, strings.TrimSpace(rec.Body.String()), want)
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	var answer map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		k.t.Fatalf("testkit: POST %s answered %d with a body that is not a JSON object: %.200s", path, rec.Code, rec.Body)
	}
	return answer
}
