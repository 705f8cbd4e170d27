package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// SlowSender takes 20 ms per message, like a nearby mail server. Used
// during the request (recovery.NewInlineOutbox) it makes a known user's
// Recover 20 ms slower than an unknown one's: the leak the timing check must
// catch.
var SlowSender recovery.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	return sleep(ctx, 20*time.Millisecond)
})

// FailingSender fails every message, as a mail server that is down does.
var FailingSender recovery.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	return errors.New("recoverytest: the mail server is down")
})

// SlowCustomMessage is a custom-message hook that takes 20 ms and changes
// nothing, like a hook that looks something up.
var SlowCustomMessage recovery.CustomMessageHook = recovery.CustomMessageFunc(func(ctx context.Context, e recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
	return recovery.CustomMessage{}, sleep(ctx, 20*time.Millisecond)
})

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TimingEngine prepares the timing check on a store: it seeds n known users
// into users (which must implement recovery.UserCreator), each named once
// so that the default budget never refuses, and builds an engine on users
// and codes for client "web", which hides user existence, delivering
// through SlowSender with the default outbox; configure, if given, changes
// the Config before New (another Sender, a hook, an Outbox). The engine is
// closed when the test ends. It returns the engine with the known names and
// as many unknown ones, ready for EnumerationTiming.
func TimingEngine(t testing.TB, users recovery.UserStore, codes recovery.CodeStore, n int, configure ...func(*recovery.Config)) (e *recovery.Engine, known, unknown []string) {
	t.Helper()
	creator, ok := users.(recovery.UserCreator)
	if !ok {
		t.Fatalf("TimingEngine: %T does not implement recovery.UserCreator, so it cannot be seeded", users)
	}
	for i := range n {
		name := fmt.Sprintf("known-%05d", i)
		if _, err := creator.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
			Username: name, Enabled: true,
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
		Hasher:  InsecureHasher{},
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

// TimingReport is what EnumerationTiming measured: Recover's latency for
// known users and for unknown identifiers.
type TimingReport struct {
	// Samples is the number of calls measured per group.
	Samples int
	// Known and Unknown are the latencies, in the order taken.
	Known, Unknown []time.Duration
	// The medians and 90th percentiles of each group.
	KnownMedian, UnknownMedian time.Duration
	KnownP90, UnknownP90       time.Duration
	// D is the two-sample Kolmogorov-Smirnov statistic of the groups (KS),
	// and Critical its critical value at significance Alpha (KSCritical):
	// D above Critical means the two distributions differ, not that the
	// difference is large.
	D, Critical, Alpha float64
}

// String gives every figure on one line.
func (r TimingReport) String() string {
	return fmt.Sprintf("%d samples each: median known %s, unknown %s; p90 known %s, unknown %s; KS D = %.4f (critical %.4f at alpha %g)",
		r.Samples, r.KnownMedian, r.UnknownMedian, r.KnownP90, r.UnknownP90, r.D, r.Critical, r.Alpha)
}

// The thresholds of Leak.
const (
	medianSlack = 200 * time.Microsecond
	medianRatio = 0.25
	p90Slack    = time.Millisecond
	p90Ratio    = 0.5
)

// Leak returns an error describing a clear difference between the two
// groups, or nil. A difference is clear when the medians differ by more
// than max(25% of the smaller median, 200 µs) or the 90th percentiles by
// more than max(50% of the smaller one, 1 ms), in either direction.
//
// Why these figures: the leak this guards against is a known user's
// request waiting for delivery, which costs what a mail server or an SMS
// gateway takes, milliseconds to seconds; that is one to three orders of
// magnitude above the thresholds, so it cannot pass (the control tests
// show a 20 ms sender caught every time). Below them the figures are
// within what scheduling, garbage collection and a shared machine move
// sub-millisecond calls by between two runs, and, for a caller across a
// network, within its jitter on a single request. The KS statistic is
// reported but not judged: with thousands of samples it exceeds its
// critical value for differences of a few microseconds (a known user's
// request does queue a message), which an attacker could only exploit by
// averaging many requests, something the per-user budget and request
// limits bound.
func (r TimingReport) Leak() error {
	differ := func(a, b, slack time.Duration, ratio float64) bool {
		diff := a - b
		if diff < 0 {
			diff = -diff
		}
		limit := time.Duration(ratio * float64(min(a, b)))
		return diff > max(limit, slack)
	}
	switch {
	case differ(r.KnownMedian, r.UnknownMedian, medianSlack, medianRatio):
		return fmt.Errorf("the median latency of Recover differs between known users (%s) and unknown identifiers (%s) by more than max(%.0f%%, %s)",
			r.KnownMedian, r.UnknownMedian, 100*medianRatio, medianSlack)
	case differ(r.KnownP90, r.UnknownP90, p90Slack, p90Ratio):
		return fmt.Errorf("the 90th-percentile latency of Recover differs between known users (%s) and unknown identifiers (%s) by more than max(%.0f%%, %s)",
			r.KnownP90, r.UnknownP90, 100*p90Ratio, p90Slack)
	}
	return nil
}

// timingAlpha is the significance of the critical value reported.
const timingAlpha = 0.001

// EnumerationTiming measures how long e.Recover takes for known users and
// for identifiers that match nobody, samples times each, and reports the
// figures (with t.Logf, and on standard output so that go test -v shows
// them whatever the test's outcome). It is meant for an engine whose
// client (clientID) has PreventUserExistenceErrors set and whose sender
// does not make the caller wait (delivery/asyncsender), on the stores under
// test; judge the result with TimingReport.Leak.
//
// The calls alternate between the groups, and which group goes first
// alternates too, so that drift (a warming cache, a growing table, another
// process) affects both alike. Sample i uses known[i%len(known)] and
// unknown[i%len(unknown)]; a short warm-up uses the first names of each
// list once more. Every call must succeed, or the test fails at once (a
// LimitExceededException would measure the budget, not the lookup): give
// as many distinct names as samples, or a budget that holds them all.
func EnumerationTiming(t testing.TB, e *recovery.Engine, clientID string, known, unknown []string, samples int) TimingReport {
	t.Helper()
	if len(known) == 0 || len(unknown) == 0 || samples < 1 {
		t.Fatalf("EnumerationTiming: %d known names, %d unknown names, %d samples: give at least one of each", len(known), len(unknown), samples)
	}
	ctx := context.Background()
	measure := func(i int, name string) time.Duration {
		start := time.Now()
		d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: clientID, Username: name})
		elapsed := time.Since(start)
		if err != nil || d.Destination == "" {
			t.Fatalf("EnumerationTiming: Recover(%q), sample %d: %+v, %v", name, i, d, err)
		}
		return elapsed
	}
	for i := range min(samples, 20) {
		measure(-1, known[i%len(known)])
		measure(-1, unknown[i%len(unknown)])
	}
	runtime.GC()
	r := TimingReport{Samples: samples, Known: make([]time.Duration, samples), Unknown: make([]time.Duration, samples), Alpha: timingAlpha}
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

// quantile is the q-quantile of d (nearest rank below).
func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// KS returns the two-sample Kolmogorov-Smirnov statistic of a and b: the
// largest distance between their empirical distribution functions, from 0
// (the samples are spread alike) to 1 (every value of one is below every
// value of the other). Both must be non-empty.
func KS(a, b []time.Duration) float64 {
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

// KSCritical returns the critical value of the two-sample
// Kolmogorov-Smirnov statistic for samples of sizes n and m at significance
// alpha, by the large-sample approximation
// sqrt(-ln(alpha/2)/2) * sqrt((n+m)/(n*m)): a D above it rejects, at that
// level, that both samples come from one distribution.
func KSCritical(n, m int, alpha float64) float64 {
	return math.Sqrt(-math.Log(alpha/2)/2) * math.Sqrt(float64(n+m)/float64(n*m))
}

// TimingStores makes fresh stores for one timing check: the user store (a
// recovery.UserCreator, for seeding) and the code store, and optionally a
// function to run once the users are seeded (ANALYZE, say).
type TimingStores func(t *testing.T) (users recovery.UserStore, codes recovery.CodeStore, seeded func())

// CheckEnumerationTiming runs EnumerationTiming with samples samples on
// fresh stores for each way in which delivery could make a real user's
// answer slower than a simulated one: a 20 ms mail server (SlowSender), a
// 20 ms custom-message hook (SlowCustomMessage), and a mail server that
// fails every call (FailingSender), each with the default outbox; each
// must show no leak. A control then delivers during the request
// (recovery.NewInlineOutbox) through SlowSender, and must show the leak, so
// the check is known to be able to fail.
func CheckEnumerationTiming(t *testing.T, newStores TimingStores, samples int) {
	t.Helper()
	run := func(t *testing.T, n int, configure func(*recovery.Config)) TimingReport {
		users, codes, seeded := newStores(t)
		e, known, unknown := TimingEngine(t, users, codes, n, configure)
		if seeded != nil {
			seeded()
		}
		return EnumerationTiming(t, e, "web", known, unknown, n)
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
			if err := run(t, samples, v.configure).Leak(); err != nil {
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
