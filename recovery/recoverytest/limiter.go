package recoverytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestRequestLimiter checks that the recovery.RequestLimiter made by
// newLimiter keeps the contract documented on recovery.RequestLimiter: at
// most Limit requests of a key per window, all-or-nothing charging across
// the keys of one request, isolation of keys and pools, a fresh allowance
// once two whole windows have passed, exact limits under concurrent calls,
// and cancelled contexts.
//
// The subtests hold for fixed and sliding windows alike: they assume no
// window boundary between two instants less than a window apart, except
// that t0 (03:04:05.678 UTC) and t0+1s are taken to fall in the same fixed
// window of a minute or an hour (true for windows aligned to the Unix epoch
// or to a key's first request), and they expect a fresh allowance only two
// whole windows after the last request.
//
// Each subtest calls newLimiter once and uses only the limiter it got. Every
// call of newLimiter must return a limiter isolated from every other one it
// returned (for a networked backend: a fresh key prefix). Run the suite with
// -race.
func TestRequestLimiter(t *testing.T, newLimiter func(t *testing.T) recovery.RequestLimiter) {
	t.Helper()
	for _, st := range limiterTests {
		t.Run(st.name, func(t *testing.T) { st.run(t, newLimiter(t)) })
	}
}

type limiterTest struct {
	name string
	run  func(t *testing.T, l recovery.RequestLimiter)
}

var limiterTests = []limiterTest{
	{"LimitPerWindow", testLimitPerWindow},
	{"AllOrNothing", testAllOrNothing},
	{"KeysIsolated", testLimiterKeysIsolated},
	{"PoolsIsolated", testLimiterPoolsIsolated},
	{"AllowedAfterTwoWindows", testAllowedAfterTwoWindows},
	{"Concurrent", testLimiterConcurrent},
	{"ConcurrentTwoKeys", testLimiterConcurrentTwoKeys},
	{"CancelledContext", testLimiterCancelledContext},
}

// perMinute is the rate most subtests use.
var perMinute = recovery.Rate{Limit: 3, Window: time.Minute}

// limitPool is the pool of the subtests that use one.
const limitPool = "recoverytest-limits"

// key is a LimitKey at rate r.
func key(name string, r recovery.Rate) recovery.LimitKey {
	return recovery.LimitKey{Key: name, Rate: r}
}

// allow calls Allow and reports an error or an answer other than want.
func allow(t *testing.T, l recovery.RequestLimiter, step string, want bool, pool string, now time.Time, keys ...recovery.LimitKey) {
	t.Helper()
	got, err := l.Allow(t.Context(), recovery.LimitRequest{Pool: pool, Keys: keys, Now: now})
	if err != nil {
		t.Errorf("%s: Allow(pool %q, keys %v) at %s: error %v", step, pool, keys, rel(now), err)
		return
	}
	if got != want {
		t.Errorf("%s: Allow(pool %q, keys %v) at %s = %v, want %v", step, pool, keys, rel(now), got, want)
	}
}

// allowN expects n allowed requests for keys at now, then one denied.
func allowN(t *testing.T, l recovery.RequestLimiter, step string, n int, pool string, now time.Time, keys ...recovery.LimitKey) {
	t.Helper()
	for i := range n {
		allow(t, l, fmt.Sprintf("%s: request %d of %d", step, i+1, n), true, pool, now, keys...)
	}
	allow(t, l, fmt.Sprintf("%s: request %d", step, n+1), false, pool, now, keys...)
}

func testLimitPerWindow(t *testing.T, l recovery.RequestLimiter) {
	k := key("client:web", perMinute)
	allowN(t, l, "limit 3 per minute", 3, limitPool, t0, k)
	allow(t, l, "again at the same instant", false, limitPool, t0, k)
	allow(t, l, "a second later", false, limitPool, at(time.Second), k)

	one := key("client:one", recovery.Rate{Limit: 1, Window: time.Hour})
	allowN(t, l, "limit 1 per hour", 1, limitPool, t0, one)
	allow(t, l, "limit 1 per hour, a second later", false, limitPool, at(time.Second), one)
}

func testAllOrNothing(t *testing.T, l recovery.RequestLimiter) {
	full, part := key("ip:192.0.2.1", perMinute), key("client:web", perMinute)
	allowN(t, l, "fill the IP key", 3, limitPool, t0, full)
	allow(t, l, "client key 1 of 3", true, limitPool, t0, part)
	allow(t, l, "client key 2 of 3", true, limitPool, t0, part)
	allow(t, l, "[client, full IP]", false, limitPool, t0, part, full)
	allow(t, l, "[full IP, client]", false, limitPool, t0, full, part)
	allow(t, l, "client key 3 of 3 (the denied requests charged nothing)", true, limitPool, t0, part)
	allow(t, l, "client key 4 of 3", false, limitPool, t0, part)

	// An allowed request charges every key.
	a, b := key("client:a", perMinute), key("ip:192.0.2.2", recovery.Rate{Limit: 5, Window: time.Minute})
	allowN(t, l, "[a, b] with limits 3 and 5", 3, limitPool, t0, a, b)
	allowN(t, l, "b alone, after 3 requests charged to [a, b]", 2, limitPool, t0, b)
}

func testLimiterKeysIsolated(t *testing.T, l recovery.RequestLimiter) {
	allowN(t, l, "client:web", 3, limitPool, t0, key("client:web", perMinute))
	allowN(t, l, "client:web2", 3, limitPool, t0, key("client:web2", perMinute))
	allowN(t, l, "ip:192.0.2.1", 3, limitPool, t0, key("ip:192.0.2.1", perMinute))
	allowN(t, l, "CLIENT:WEB (keys are case sensitive)", 3, limitPool, t0, key("CLIENT:WEB", perMinute))
	// Pairs that concatenate to the same string are still different.
	allowN(t, l, "pool a:b key c", 3, "rt:a:b", t0, key("c", perMinute))
	allowN(t, l, "pool a key b:c", 3, "rt:a", t0, key("b:c", perMinute))
	allowN(t, l, "pool ab key c", 3, "rt-ab", t0, key("c", perMinute))
	allowN(t, l, "pool a key bc", 3, "rt-a", t0, key("bc", perMinute))
}

func testLimiterPoolsIsolated(t *testing.T, l recovery.RequestLimiter) {
	k := key("client:web", perMinute)
	allowN(t, l, "pool 1", 3, limitPool+"-1", t0, k)
	allowN(t, l, "pool 2, same key", 3, limitPool+"-2", t0, k)
	allow(t, l, "pool 1 again", false, limitPool+"-1", t0, k)
}

func testAllowedAfterTwoWindows(t *testing.T, l recovery.RequestLimiter) {
	k := key("client:web", perMinute)
	allowN(t, l, "at t0", 3, limitPool, t0, k)
	allowN(t, l, "two windows later", 3, limitPool, at(2*time.Minute), k)
	allowN(t, l, "four windows later", 3, limitPool, at(4*time.Minute), k)
	hour := key("client:hourly", recovery.Rate{Limit: 2, Window: time.Hour})
	allowN(t, l, "2 per hour at t0", 2, limitPool, t0, hour)
	allowN(t, l, "2 per hour two hours later", 2, limitPool, at(2*time.Hour), hour)
}

func testLimiterConcurrent(t *testing.T, l recovery.RequestLimiter) {
	const n, limit = 100, 10
	k := key("client:web", recovery.Rate{Limit: limit, Window: time.Minute})
	allowed, errs := concurrently(t, n, func(ctx context.Context, _ int) (bool, error) {
		return l.Allow(ctx, recovery.LimitRequest{Pool: limitPool, Keys: []recovery.LimitKey{k}, Now: t0})
	})
	what := fmt.Sprintf("%d concurrent requests with Limit %d", n, limit)
	reportErrors(t, what, errs)
	if got := countTrue(allowed, errs); got != limit {
		t.Errorf("%s: %d allowed, want %d", what, got, limit)
	}
}

func testLimiterConcurrentTwoKeys(t *testing.T, l recovery.RequestLimiter) {
	const n = 100
	a := key("client:web", recovery.Rate{Limit: 10, Window: time.Minute})
	b := key("ip:192.0.2.1", recovery.Rate{Limit: 15, Window: time.Minute})
	allowed, errs := concurrently(t, n, func(ctx context.Context, i int) (bool, error) {
		keys := []recovery.LimitKey{a, b}
		if i%2 == 1 {
			keys = []recovery.LimitKey{b, a}
		}
		return l.Allow(ctx, recovery.LimitRequest{Pool: limitPool, Keys: keys, Now: t0})
	})
	what := fmt.Sprintf("%d concurrent requests charged to two keys with limits 10 and 15", n)
	reportErrors(t, what, errs)
	if got := countTrue(allowed, errs); got != 10 {
		t.Errorf("%s: %d allowed, want 10", what, got)
	}
	allowN(t, l, "the key with limit 15 alone afterwards (10 charged)", 5, limitPool, t0, b)
}

func countTrue(allowed []bool, errs []error) int {
	n := 0
	for i, ok := range allowed {
		if ok && errs[i] == nil {
			n++
		}
	}
	return n
}

func testLimiterCancelledContext(t *testing.T, l recovery.RequestLimiter) {
	k := key("client:web", perMinute)
	var ok bool
	if callCancelled(t, "Allow", func() (err error) {
		ok, err = l.Allow(cancelled(t), recovery.LimitRequest{Pool: limitPool, Keys: []recovery.LimitKey{k}, Now: t0})
		return err
	}) {
		if !ok {
			t.Errorf("Allow with a cancelled context returned no error and false for an unused key")
		}
		allowN(t, l, "after a request with a cancelled context was allowed", 2, limitPool, t0, k)
	} else {
		allowN(t, l, "after a request with a cancelled context failed", 3, limitPool, t0, k)
	}
}
