package recovery_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// clock is a settable clock for the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	testKey    = recovery.Key{ID: "k1", Secret: bytes.Repeat([]byte("0123456789abcdef"), 2)}
	testSecret = "client-secret-value"
)

// env is an engine on in-memory stores with a settable clock and captured
// messages and logs.
type env struct {
	t      *testing.T
	ctx    context.Context
	cfg    recovery.Config
	engine *recovery.Engine
	users  *memstore.UserStore
	codes  *memstore.CodeStore
	sender *capturesender.Sender
	clock  *clock
	logs   *syncBuffer
}

const pool = "test-pool"

// newEnv builds an env; mutate adjusts the Config before New.
func newEnv(t *testing.T, mutate ...func(*recovery.Config)) *env {
	t.Helper()
	e := &env{
		t:      t,
		ctx:    context.Background(),
		users:  memstore.NewUserStore(),
		codes:  memstore.NewCodeStore(),
		sender: capturesender.New(),
		clock:  &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		logs:   &syncBuffer{},
	}
	e.cfg = recovery.Config{
		PoolID: pool,
		Users:  e.users,
		Codes:  e.codes,
		Sender: e.sender,
		Clients: []recovery.Client{
			{ID: "web", RevealUserExistence: true},
			{ID: "private", Secret: testSecret, RevealUserExistence: true},
			{ID: "quiet"},
		},
		// Tests read the code right after Recover.
		Outbox: recovery.NewInlineOutbox(),
		Keys:   []recovery.Key{testKey},
		Hasher: recoverytest.InsecureHasher{},
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    e.clock.Now,
	}
	for _, m := range mutate {
		m(&e.cfg)
	}
	e.rebuild()
	return e
}

// rebuild makes a new engine from e.cfg over the same stores.
func (e *env) rebuild() {
	e.t.Helper()
	if e.cfg.Outbox != nil {
		e.cfg.Outbox = recovery.NewInlineOutbox() // an outbox serves one engine
	}
	eng, err := recovery.New(e.cfg)
	if err != nil {
		e.t.Fatalf("recovery.New: %v", err)
	}
	e.engine = eng
}

// addUser creates a user; attrs are key/value pairs.
func (e *env) addUser(u recovery.User) recovery.User {
	e.t.Helper()
	if u.Status == "" {
		u.Status = recovery.StatusConfirmed
	}
	hash, _ := recoverytest.InsecureHasher{}.Hash("Initial-passw0rd")
	created, err := e.users.CreateUser(e.ctx, pool, u, hash)
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", u.Username, err)
	}
	return created
}

func (e *env) alice() recovery.User {
	return e.addUser(recovery.User{Username: "alice", Attributes: map[string]string{
		"email": "alice@example.com", "email_verified": "true",
		"phone_number": "+15555550100", "phone_number_verified": "false",
	}})
}

func (e *env) recover(client, username string) (recovery.CodeDeliveryDetails, error) {
	return e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: client, Username: username})
}

func (e *env) confirm(client, username, code, password string) error {
	return e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: client, Username: username, ConfirmationCode: code, Password: password})
}

// lastCode returns the newest code sent to a username.
func (e *env) lastCode(username string) string {
	e.t.Helper()
	code, ok := e.sender.LastCode(username)
	if !ok {
		e.t.Fatalf("no message was sent to %s", username)
	}
	return code
}

// wantErr fails unless err is of kind (by errors.Is) and, when message is
// not empty, has exactly that message.
func wantErr(t *testing.T, err error, kind error, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", kind)
	}
	var re *recovery.Error
	if !asError(err, &re) {
		t.Fatalf("err = %T %v, want *recovery.Error", err, err)
	}
	if k := kind.(*recovery.Error); re.Name != k.Name {
		t.Fatalf("err = %v, want %s", err, k.Name)
	}
	if message != "" && re.Message != message {
		t.Fatalf("message = %q\n             want %q", re.Message, message)
	}
}
