package asyncsender_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// slowSender takes 200 ms per message, like a distant mail server.
var slowSender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
})

// timingEngine builds an engine with one known user, existence errors
// prevented, and a budget large enough for thousands of requests.
func timingEngine(t *testing.T, sender recovery.Sender) *recovery.Engine {
	t.Helper()
	users := memstore.NewUserStore()
	if _, err := users.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
		Username: "alice", Enabled: true,
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, ""); err != nil {
		t.Fatal(err)
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", PreventUserExistenceErrors: true}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("timing-test-key-0123456789abcdef!")}},
		Hasher:  recoverytest.InsecureHasher{},
		// 10-digit codes keep the guess probability within bounds with a
		// budget that no test run exhausts.
		Policy: recovery.Policy{CodeDigits: 10, Budget: 100_000},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sample measures Recover for a known and an unknown user, alternately,
// n times each, after a short warm-up.
func sample(t *testing.T, e *recovery.Engine, n int) (known, unknown []time.Duration) {
	t.Helper()
	ctx := context.Background()
	measure := func(username string) time.Duration {
		start := time.Now()
		d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: username})
		elapsed := time.Since(start)
		if err != nil || d.Destination == "" {
			t.Fatalf("Recover(%s) = %+v, %v", username, d, err)
		}
		return elapsed
	}
	for range 3 {
		measure("alice")
		measure("nobody@example.com")
	}
	for i := range n {
		// Alternate which goes first, so drift affects both alike.
		if i%2 == 0 {
			known = append(known, measure("alice"))
			unknown = append(unknown, measure("nobody@example.com"))
		} else {
			unknown = append(unknown, measure("nobody@example.com"))
			known = append(known, measure("alice"))
		}
	}
	return known, unknown
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// With the asynchronous sender, a known user's request does not wait for
// the 200 ms delivery, so it answers about as fast as an unknown user's.
func TestKnownAndUnknownUsersAnswerAlike(t *testing.T) {
	async, err := asyncsender.New(slowSender, asyncsender.Options{Workers: 8, QueueSize: 256, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { async.Close(context.Background()) }) // after a failure; a no-op otherwise
	known, unknown := sample(t, timingEngine(t, async), 30)
	mk, mu := median(known), median(unknown)
	t.Logf("median Recover latency: known user %s, unknown user %s", mk, mu)
	if mk > mu+50*time.Millisecond {
		t.Errorf("known-user median %s exceeds unknown-user median %s by more than 50ms", mk, mu)
	}
	if mk > 50*time.Millisecond {
		t.Errorf("known-user median %s: Recover waited for the 200ms delivery", mk)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := async.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := async.Stats(); st.Delivered != 33 {
		t.Errorf("%d messages delivered, want 33 (3 warm-up and 30 measured)", st.Delivered)
	}
}

// The same measurement without the asynchronous sender shows the leak the
// test above would catch.
func TestSynchronousSenderLeaksExistence(t *testing.T) {
	known, unknown := sample(t, timingEngine(t, slowSender), 3)
	mk, mu := median(known), median(unknown)
	t.Logf("median Recover latency with a synchronous sender: known user %s, unknown user %s", mk, mu)
	if mk < mu+150*time.Millisecond {
		t.Errorf("the synchronous sender did not slow known users down (known %s, unknown %s): the timing test cannot see a leak", mk, mu)
	}
}

// The long statistical version of this check, with thousands of samples and
// a Kolmogorov-Smirnov statistic, is recoverytest.EnumerationTiming, run per
// store by the tests named Enumeration (RECOVERY_TEST_TIMING=1).
