package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

// memoryScenario leaves records and counters of every kind under prefix,
// all written at injected times between t0 and t0+3s, and returns the TTL
// each key must have been given (its deadline minus the time of its last
// write) and the longest of them.
func memoryScenario(t *testing.T, c redis.UniversalClient, prefix string) (want map[string]time.Duration, longest time.Duration) {
	t.Helper()
	ctx := t.Context()
	s := newCodeStore(t, c, prefix)
	l := newLimiter(t, c, prefix)
	short := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	long := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: 10 * time.Hour}
	want = map[string]time.Duration{}
	issue := func(user string, limits recovery.CodeLimits, expires time.Duration) {
		t.Helper()
		if out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: user, Code: hk("111111"), ExpiresAt: t0.Add(expires), Now: t0, Limits: limits}); err != nil || out != recovery.OutcomeOK {
			t.Fatalf("Issue for %s: %v, %v", user, out, err)
		}
	}
	check := func(user string, limits recovery.CodeLimits, at time.Duration, code string, consume bool, wantOut recovery.Outcome) {
		t.Helper()
		out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{hk(code)}, Consume: consume, Now: t0.Add(at), Limits: limits})
		if err != nil || out != wantOut {
			t.Fatalf("Check for %s at t0+%v: %v, %v, want %v", user, at, out, err, wantOut)
		}
	}
	key := func(user string) string { return prefix + "code:{p|" + user + "}" }

	// Issued only: the event's window (1h) outlasts the code (10m).
	for _, u := range []string{"u:1", "u:2", "u:3"} {
		issue(u, short, 10*time.Minute)
		want[key(u)] = time.Hour
	}
	// A code that outlasts the window.
	issue("u:long-code", short, 2*time.Hour)
	want[key("u:long-code")] = 2 * time.Hour
	// Consumed at t0+1m: the event at t0 keeps it until t0+1h.
	issue("u:consumed", short, 10*time.Minute)
	check("u:consumed", short, time.Minute, "111111", true, recovery.OutcomeOK)
	want[key("u:consumed")] = time.Hour - time.Minute
	// Two failures at t0+1s and t0+2s: the latest failure's event, t0+2s+1h.
	issue("u:streak", short, 10*time.Minute)
	check("u:streak", short, time.Second, "999999", false, recovery.OutcomeMismatch)
	check("u:streak", short, 2*time.Second, "999999", false, recovery.OutcomeMismatch)
	want[key("u:streak")] = time.Hour
	// Locked at t0+3s for 10h: the lock and the streak last longest.
	issue("u:locked", long, 10*time.Minute)
	for i := 1; i <= 3; i++ {
		check("u:locked", long, time.Duration(i)*time.Second, "999999", false, recovery.OutcomeMismatch)
	}
	want[key("u:locked")] = 10 * time.Hour

	// Counters live to the end of the fixed window after the current one.
	allow := func(k string, w time.Duration) {
		t.Helper()
		ok, err := l.Allow(ctx, recovery.LimitRequest{Pool: "p", Now: t0, Keys: []recovery.LimitKey{{Key: k, Rate: recovery.Rate{Limit: 10, Window: w}}}})
		if err != nil || !ok {
			t.Fatalf("Allow %s: %v, %v", k, ok, err)
		}
		idx := t0.UnixMilli() / w.Milliseconds()
		want[prefix+"rate:{p}:"+k] = time.Duration((idx+2)*w.Milliseconds()-t0.UnixMilli()) * time.Millisecond
	}
	allow("client:web", time.Minute)
	allow("ip:192.0.2.1", time.Hour)

	for _, d := range want {
		longest = max(longest, d)
	}
	return want, longest
}

// TestMemoryBoundedMiniredis checks the exact TTL of every key, then
// advances miniredis's clock: nothing outlives its deadline.
func TestMemoryBoundedMiniredis(t *testing.T) {
	m, c := newMiniredis(t)
	p := newPrefix()
	want, longest := memoryScenario(t, c, p)
	keys := m.Keys()
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %d keys", keys, len(want))
	}
	for _, k := range keys {
		if got, ok := want[k]; !ok {
			t.Errorf("unexpected key %q", k)
		} else if ttl := m.TTL(k); ttl != got {
			t.Errorf("TTL of %q = %v, want %v", k, ttl, got)
		}
	}
	m.FastForward(longest - time.Millisecond)
	if keys := m.Keys(); !slices.Equal(keys, []string{p + "code:{p|u:locked}"}) {
		t.Errorf("keys 1ms before the longest deadline: %v, want only the locked user's", keys)
	}
	m.FastForward(time.Millisecond)
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("keys after every deadline: %v, want none", keys)
	}
}

// TestMemoryBoundedRedis checks that every key on a real Redis has a TTL no
// longer than its deadline (and not much shorter: the test takes a moment).
func TestMemoryBoundedRedis(t *testing.T) {
	c := realRedis(t)
	p := newPrefix()
	deleteOnCleanup(t, c, p)
	want, longest := memoryScenario(t, c, p)
	keys := keysUnder(t, c, p)
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %d keys", keys, len(want))
	}
	for _, k := range keys {
		ttl, err := c.PTTL(context.Background(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := want[k]
		switch {
		case !ok:
			t.Errorf("unexpected key %q", k)
		case ttl <= 0 || ttl > longest:
			t.Errorf("PTTL of %q = %v, want a TTL in (0, %v]", k, ttl, longest)
		case ttl > got || ttl < got-10*time.Second:
			t.Errorf("PTTL of %q = %v, want %v or a little less", k, ttl, got)
		}
	}
}

// TestLapsedRecordForgotten checks that a record whose deadlines have all
// passed at the injected time behaves as absent (its failure streak is
// gone) and is deleted by the call that finds it, before Redis's own clock
// would expire it.
func TestLapsedRecordForgotten(t *testing.T) {
	m, c := newMiniredis(t)
	s := newCodeStore(t, c, "rk:")
	ctx := t.Context()
	limits := recovery.CodeLimits{Budget: 10, FailureBudget: 10, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	step := func(what string, got recovery.Outcome, err error, want recovery.Outcome) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s: %v, %v, want %v", what, got, err, want)
		}
	}
	issue := func(at time.Duration) {
		t.Helper()
		out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: hk("111111"), ExpiresAt: t0.Add(at + 10*time.Minute), Now: t0.Add(at), Limits: limits})
		step("issue", out, err, recovery.OutcomeOK)
	}
	check := func(at time.Duration, code string, want recovery.Outcome) {
		t.Helper()
		out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk(code)}, Now: t0.Add(at), Limits: limits})
		step("check "+code, out, err, want)
	}
	issue(0)
	check(time.Second, "999999", recovery.OutcomeMismatch)
	check(2*time.Second, "999999", recovery.OutcomeMismatch)

	// At t0+2h every deadline (t0+2s+1h at the latest) has passed.
	late := 2 * time.Hour
	check(late, "111111", recovery.OutcomeExpired)
	if m.Exists("rk:code:{p|u:1}") {
		t.Errorf("the lapsed record is still there after a call found it")
	}
	issue(late)
	check(late+time.Second, "999999", recovery.OutcomeMismatch)
	check(late+2*time.Second, "999999", recovery.OutcomeMismatch)
	check(late+3*time.Second, "111111", recovery.OutcomeOK) // two failures in a row, not four: no lock
}
