package memstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// timingSamples is the number of Recover calls measured per group.
const timingSamples = 2000

// slowSender takes 20 ms per message, like a nearby mail server.
var slowSender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	select {
	case <-time.After(20 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
})

// timingEngine builds an engine on the memory stores with n known users
// (each name used once, so that the default budget never refuses) and
// returns it with the known names and as many unknown ones.
func timingEngine(t *testing.T, sender recovery.Sender, n int) (e *recovery.Engine, known, unknown []string) {
	t.Helper()
	users := memstore.NewUserStore()
	for i := range n {
		name := fmt.Sprintf("known-%05d", i)
		if _, err := users.CreateUser(t.Context(), recovery.DefaultPoolID, recovery.User{
			Username: name, Enabled: true,
			Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
		}, ""); err != nil {
			t.Fatal(err)
		}
		known = append(known, name)
		unknown = append(unknown, fmt.Sprintf("ghost-%05d", i))
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", PreventUserExistenceErrors: true}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("timing-test-key-0123456789abcdef!")}},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, known, unknown
}

// asyncSlowSender puts slowSender behind an asyncsender with room for every
// message of the test; the messages still queued at the end are dropped.
func asyncSlowSender(t *testing.T, messages int) recovery.Sender {
	t.Helper()
	s, err := asyncsender.New(slowSender, asyncsender.Options{Workers: 8, QueueSize: messages + 64, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// TestEnumerationTiming: with existence errors prevented and delivery
// asynchronous, Recover takes as long for a known user as for an unknown
// identifier.
func TestEnumerationTiming(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	e, known, unknown := timingEngine(t, asyncSlowSender(t, timingSamples), timingSamples)
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, timingSamples)
	if err := r.Leak(); err != nil {
		t.Error(err)
	}
}

// TestEnumerationTimingCatchesSyncSender is the control: with the 20 ms
// sender called synchronously, known users answer 20 ms later, and the
// check says so (few samples suffice, and take 20 ms each).
func TestEnumerationTimingCatchesSyncSender(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 100
	e, known, unknown := timingEngine(t, slowSender, n)
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if r.Leak() == nil {
		t.Errorf("Leak() = nil with a synchronous 20 ms sender (%v): the check cannot fail", r)
	}
	if r.D <= r.Critical {
		t.Errorf("KS D = %.4f is not above its critical value %.4f with a synchronous 20 ms sender", r.D, r.Critical)
	}
}
