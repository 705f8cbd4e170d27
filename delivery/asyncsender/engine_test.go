package asyncsender_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/delivery/webhooksender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

type observed struct {
	mu sync.Mutex
	ev []recovery.Event
}

func (o *observed) Observe(_ context.Context, e recovery.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ev = append(o.ev, e)
}

func (o *observed) kinds(k recovery.EventKind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.ev {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func engineWith(t *testing.T, sender recovery.Sender, obs recovery.Observer, opts asyncsender.Options) (*recovery.Engine, *asyncsender.Queue) {
	t.Helper()
	users := memstore.NewUserStore()
	users.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	opts.Logger = slog.New(slog.DiscardHandler)
	q, err := asyncsender.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender, Outbox: q,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("asyncsender-test-key-0123456789ab")}},
		Hasher:  recoverytest.InsecureHasher{},
		Hooks:   recovery.Hooks{Observer: obs},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, q
}

// Through the engine: a real user's message is sent by a worker; a decoy
// for an unknown identifier goes through the queue and sends nothing.
func TestEngineDeliversThroughTheQueue(t *testing.T) {
	sender := capturesender.New()
	obs := &observed{}
	e, q := engineWith(t, sender, obs, asyncsender.Options{Workers: 2})
	ctx := context.Background()
	for _, name := range []string{"alice", "nobody@example.com"} {
		if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: name}); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Queued != 2 || st.Delivered != 2 {
		t.Fatalf("stats %+v: want the real delivery and the decoy queued and completed", st)
	}
	if sender.Len() != 1 {
		t.Fatalf("%d messages sent, want 1 (the decoy sends nothing)", sender.Len())
	}
	if m, _ := sender.Last("alice"); m.Code == "" || m.To != "alice@example.com" {
		t.Fatalf("message %v", m)
	}
	if obs.kinds(recovery.EventDelivered) != 1 {
		t.Fatalf("%d delivered events, want 1", obs.kinds(recovery.EventDelivered))
	}
}

// A sender that fails every call: the caller is told nothing, the code is
// revoked, and the Observer hears of it once.
func TestEngineFailedDeliveryIsAbandoned(t *testing.T) {
	down := errors.New("mail server down")
	var mu sync.Mutex
	var codes []string
	sender := recovery.SenderFunc(func(_ context.Context, m recovery.Message) error {
		mu.Lock()
		codes = append(codes, m.Code)
		mu.Unlock()
		return down
	})
	obs := &observed{}
	e, _ := engineWith(t, sender, obs, asyncsender.Options{Workers: 1, MaxAttempts: 2, BaseDelay: time.Millisecond})
	ctx := context.Background()
	d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if err != nil || d.Destination != "a***@e***" {
		t.Fatalf("Recover = %+v, %v: a delivery failure must not reach the caller", d, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e.Close(cctx)
	if obs.kinds(recovery.EventDeliveryFailed) != 1 {
		t.Fatalf("%d delivery_failed events, want 1", obs.kinds(recovery.EventDeliveryFailed))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(codes) != 2 {
		t.Fatalf("%d attempts, want 2", len(codes))
	}
	err = e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: codes[0], Password: "N3w-passw0rd!"})
	if !errors.Is(err, recovery.ErrExpiredCode) {
		t.Fatalf("Confirm with the undelivered code = %v, want ExpiredCode (it was revoked)", err)
	}
}

// The rule of the package documentation: the queue retries, the webhook
// sender behind it makes one attempt, and the receiver's Retry-After still
// sets the wait (here "0", where the backoff alone would wait up to an
// hour).
func TestEngineRetriesAWebhookOnce(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, r.Header.Get("webhook-id"))
		if len(ids) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer gateway.Close()
	sender, err := webhooksender.New(webhooksender.Config{
		URL: gateway.URL, Secret: []byte("asyncsender-test-webhook-secret-0123"), MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	e, q := engineWith(t, sender, nil, asyncsender.Options{Workers: 1, BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx := context.Background()
	if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.Close(cctx); err != nil {
		t.Fatalf("Close = %v: the retry did not honour Retry-After", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if st := q.Stats(); len(ids) != 2 || ids[0] != ids[1] || st.Delivered != 1 || st.Retries != 1 {
		t.Fatalf("webhook ids %q, stats %+v: want 2 requests with one id, one retry, delivered", ids, st)
	}
}
