package asyncsender_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
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

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
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

// TestEnumerationTimingKS takes thousands of interleaved samples and prints
// the two-sample Kolmogorov-Smirnov statistic. It runs with
// RECOVERY_TEST_TIMING=1. The engine does a little more work for a known
// user (rendering the message, queueing it) than for an unknown one, so with
// enough samples the statistic can exceed its critical value at a
// microsecond-scale difference; the test fails only when the medians differ
// by more than a millisecond or the known user's 90th percentile exceeds
// the unknown user's by more than 5 ms.
func TestEnumerationTimingKS(t *testing.T) {
	if os.Getenv("RECOVERY_TEST_TIMING") != "1" {
		t.Skip("statistical timing test: set RECOVERY_TEST_TIMING=1 to run it")
	}
	const n = 3000
	async, err := asyncsender.New(slowSender, asyncsender.Options{Workers: 8, QueueSize: n + 16, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The queue still holds most messages; they are not the point.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		async.Close(ctx)
	}()
	known, unknown := sample(t, timingEngine(t, async), n)
	d := ksStatistic(known, unknown)
	critical := 1.949 * math.Sqrt(float64(2*n)/float64(n*n)) // alpha = 0.001
	mk, mu := median(known), median(unknown)
	pk, pu := quantile(known, 0.9), quantile(unknown, 0.9)
	fmt.Printf("Enumeration timing, %d samples each: KS D = %.4f (critical %.4f at alpha 0.001); median known %s unknown %s; p90 known %s unknown %s\n",
		n, d, critical, mk, mu, pk, pu)
	if mk > mu+time.Millisecond || mk < mu-time.Millisecond {
		t.Errorf("medians differ by more than 1ms: known %s, unknown %s", mk, mu)
	}
	if pk > pu+5*time.Millisecond {
		t.Errorf("known p90 %s exceeds unknown p90 %s by more than 5ms", pk, pu)
	}
}

// ksStatistic is the two-sample Kolmogorov-Smirnov statistic: the largest
// distance between the two empirical distribution functions.
func ksStatistic(a, b []time.Duration) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}
