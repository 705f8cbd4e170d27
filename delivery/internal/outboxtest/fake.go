package outboxtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// deliverer is the fake engine: it records every call by Delivery.ID and
// answers each attempt as its script says.
type deliverer struct {
	mu        sync.Mutex
	delivered map[string][]recovery.Delivery // every Deliver call
	abandoned map[string][]error
	script    map[string]func(attempt int) error
	delay     time.Duration // of each Deliver
}

func newDeliverer() *deliverer {
	return &deliverer{delivered: map[string][]recovery.Delivery{}, abandoned: map[string][]error{}, script: map[string]func(int) error{}}
}

// on scripts the answers to the attempts at delivering id.
func (f *deliverer) on(id string, answer func(attempt int) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[id] = answer
}

func (f *deliverer) Deliver(ctx context.Context, d recovery.Delivery) error {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered[d.ID] = append(f.delivered[d.ID], d)
	if answer := f.script[d.ID]; answer != nil {
		return answer(len(f.delivered[d.ID]))
	}
	return nil
}

func (f *deliverer) Abandon(_ context.Context, d recovery.Delivery, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandoned[d.ID] = append(f.abandoned[d.ID], err)
}

// attempts returns the number of Deliver calls by ID.
func (f *deliverer) attempts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := make(map[string]int, len(f.delivered))
	for id, ds := range f.delivered {
		n[id] = len(ds)
	}
	return n
}

func (f *deliverer) abandons() map[string][]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.abandoned)
}

func (f *deliverer) last(id string) (recovery.Delivery, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ds := f.delivered[id]
	if len(ds) == 0 {
		return recovery.Delivery{}, false
	}
	return ds[len(ds)-1], true
}

// waitFor polls cond until it holds or timeout passes, and fails the test
// with what when it never does.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("after %s: %s", timeout, what)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Secrets that a stored job must never show in clear.
const (
	secretCode = "493817"
	secretAttr = "Attribute-Value-Zq8"
)

// sample is a real delivery, unique per call, holding secrets that Raw
// must not show.
func sample(i int) recovery.Delivery {
	now := time.Now().UTC().Truncate(time.Millisecond)
	tag := rand.Text()[:8]
	return recovery.Delivery{
		ID: fmt.Sprintf("msg_%s%024d", tag, i), Pool: "us-east-1_suite", ClientID: "client-suite",
		Medium: recovery.Email, To: fmt.Sprintf("user%d.%s@mail.example", i, tag),
		Username: fmt.Sprintf("username-%d-%s", i, tag), Sub: fmt.Sprintf("sub-%d-%s", i, tag),
		Attributes: map[string]string{"given_name": secretAttr, "locale": "de-DE"},
		Code:       secretCode, KeyID: "k1",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		ClientMetadata: map[string]string{"origin": "suite"},
	}
}

// decoy is a decoy as the engine makes it: an ID and times, nothing else.
func decoy(i int) recovery.Delivery {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return recovery.Delivery{ID: fmt.Sprintf("msg_decoy%s%019d", rand.Text()[:4], i), Pool: "us-east-1_suite", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Decoy: true}
}

// sameDelivery reports whether got is want as it was put.
func sameDelivery(got, want recovery.Delivery) bool {
	return got.ID == want.ID && got.Pool == want.Pool && got.ClientID == want.ClientID &&
		got.Medium == want.Medium && got.To == want.To && got.Username == want.Username &&
		got.Sub == want.Sub && got.Code == want.Code && got.KeyID == want.KeyID &&
		got.IssuedAt.Equal(want.IssuedAt) && got.ExpiresAt.Equal(want.ExpiresAt) && got.Decoy == want.Decoy &&
		maps.Equal(got.Attributes, want.Attributes) && maps.Equal(got.ClientMetadata, want.ClientMetadata)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, o Outbox, ds ...recovery.Delivery) {
	t.Helper()
	ctx := ctxTimeout(t, 10*time.Second)
	for _, d := range ds {
		if err := o.Put(ctx, d); err != nil {
			t.Fatalf("Put(%s): %v", d.ID, err)
		}
	}
}

func bind(t *testing.T, o Outbox, f *deliverer) {
	t.Helper()
	if err := o.Bind(f); err != nil {
		t.Fatalf("Bind: %v", err)
	}
}

func closeOutbox(t *testing.T, o Outbox) {
	t.Helper()
	if err := o.Close(ctxTimeout(t, 15*time.Second)); err != nil {
		t.Errorf("Close: %v", err)
	}
}
