package timingcheck

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// Engine prepares the timing check on a store: it seeds n known users into
// users (which must implement recovery.UserCreator), each named once so
// that the default budget never refuses, and builds an engine on users
// and codes for client "web", which hides user existence, delivering
// through SlowSender with the default outbox; configure, if given, changes
// the Config before New (another Sender, a hook, an Outbox). The engine is
// closed when the test ends. It returns the engine with the known names and
// as many unknown ones, ready for Measure.
func Engine(t testing.TB, users recovery.UserStore, codes recovery.CodeStore, n int, configure ...func(*recovery.Config)) (e *recovery.Engine, known, unknown []string) {
	t.Helper()
	creator, ok := users.(recovery.UserCreator)
	if !ok {
		t.Fatalf("timingcheck.Engine: %T does not implement recovery.UserCreator, so it cannot be seeded", users)
	}
	for i := range n {
		name := fmt.Sprintf("known-%05d", i)
		if _, err := creator.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
			Username:   name,
			Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
		}, ""); err != nil {
			t.Fatal(err)
		}
		known = append(known, name)
		unknown = append(unknown, fmt.Sprintf("ghost-%05d", i))
	}
	cfg := recovery.Config{
		Users: users, Codes: codes, Sender: SlowSender,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("timing-test-key-0123456789abcdef!")}},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.DiscardHandler),
	}
	for _, c := range configure {
		c(&cfg)
	}
	e, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the deliveries still queued are not the point
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		e.Close(ctx)
	})
	return e, known, unknown
}

// timingAlpha is the significance of the critical value reported.
const timingAlpha = 0.001

// Measure measures how long e.Recover takes for known users and for
// identifiers that match nobody, samples times each, and reports the
// figures (with t.Logf, and on standard output so that go test -v shows
// them whatever the test's outcome). It is meant for an engine whose
// client (clientID) hides user existence (no RevealUserExistence) and whose
// delivery does not make the caller wait (the default outbox), on the
// stores under test, as Engine builds it; judge the result with
// Report.Leak.
//
// The calls alternate between the groups, and which group goes first
// alternates too, so that drift (a warming cache, a growing table, another
// process) affects both alike. Sample i uses known[i%len(known)] and
// unknown[i%len(unknown)]; a short warm-up uses the first names of each
// list once more. Every call must succeed, or the test fails at once (a
// LimitExceededException would measure the budget, not the lookup): give
// as many distinct names as samples, or a budget that holds them all.
func Measure(t testing.TB, e *recovery.Engine, clientID string, known, unknown []string, samples int) Report {
	t.Helper()
	if len(known) == 0 || len(unknown) == 0 || samples < 1 {
		t.Fatalf("timingcheck.Measure: %d known names, %d unknown names, %d samples: give at least one of each", len(known), len(unknown), samples)
	}
	ctx := context.Background()
	measure := func(i int, name string) time.Duration {
		start := time.Now()
		d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: clientID, Username: name})
		elapsed := time.Since(start)
		if err != nil || d.Destination == "" {
			t.Fatalf("timingcheck.Measure: Recover(%q), sample %d: %+v, %v", name, i, d, err)
		}
		return elapsed
	}
	for i := range min(samples, 20) {
		measure(-1, known[i%len(known)])
		measure(-1, unknown[i%len(unknown)])
	}
	runtime.GC()
	r := Report{Samples: samples, Known: make([]time.Duration, samples), Unknown: make([]time.Duration, samples), Alpha: timingAlpha}
	for i := range samples {
		k, u := known[i%len(known)], unknown[i%len(unknown)]
		if i%2 == 0 {
			r.Known[i] = measure(i, k)
			r.Unknown[i] = measure(i, u)
		} else {
			r.Unknown[i] = measure(i, u)
			r.Known[i] = measure(i, k)
		}
	}
	r.KnownMedian, r.UnknownMedian = quantile(r.Known, 0.5), quantile(r.Unknown, 0.5)
	r.KnownP90, r.UnknownP90 = quantile(r.Known, 0.9), quantile(r.Unknown, 0.9)
	r.D = KS(r.Known, r.Unknown)
	r.Critical = KSCritical(samples, samples, timingAlpha)
	t.Logf("enumeration timing: %v", r)
	fmt.Printf("%s: enumeration timing: %v\n", t.Name(), r)
	return r
}

// Stores makes fresh stores for one timing check: the user store (a
// recovery.UserCreator, for seeding) and the code store, and optionally a
// function to run once the users are seeded (ANALYZE, say).
type Stores func(t *testing.T) (users recovery.UserStore, codes recovery.CodeStore, seeded func())

// Check runs Measure with samples samples on fresh stores for each way in
// which delivery could make a real user's answer slower than a simulated
// one: a 20 ms mail server (SlowSender), a 20 ms custom-message hook
// (SlowCustomMessage), and a mail server that fails every call
// (FailingSender), each with the default outbox; each must show no leak
// (a measurement that shows one is repeated once, on fresh stores, and the
// second decides: noise seldom strikes twice, a leak always does). A
// control then delivers during the request
// (recovery.NewInlineOutbox) through SlowSender, and must show the leak, so
// the check is known to be able to fail.
func Check(t *testing.T, newStores Stores, samples int) {
	t.Helper()
	run := func(t *testing.T, n int, configure func(*recovery.Config)) Report {
		users, codes, seeded := newStores(t)
		e, known, unknown := Engine(t, users, codes, n, configure)
		if seeded != nil {
			seeded()
		}
		return Measure(t, e, "web", known, unknown, n)
	}
	for _, v := range []struct {
		name      string
		configure func(*recovery.Config)
	}{
		{"SlowSender", func(*recovery.Config) {}},
		{"SlowCustomMessageHook", func(c *recovery.Config) {
			c.Sender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil })
			c.Hooks.CustomMessage = SlowCustomMessage
		}},
		{"FailingSender", func(c *recovery.Config) { c.Sender = FailingSender }},
	} {
		t.Run(v.name, func(t *testing.T) {
			err := run(t, samples, v.configure).Leak()
			if err != nil {
				// A leak shows every time; a loaded machine's tail
				// (go test runs packages side by side, -race slows
				// everything) rarely twice running.
				t.Logf("%v: measuring again on fresh stores", err)
				err = run(t, samples, v.configure).Leak()
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("ControlInlineDelivery", func(t *testing.T) {
		r := run(t, min(samples, 50), func(c *recovery.Config) { c.Outbox = recovery.NewInlineOutbox() })
		if r.Leak() == nil {
			t.Errorf("Leak() = nil with a 20 ms sender on the request path (%v): the check cannot fail", r)
		}
	})
}
