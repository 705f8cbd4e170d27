package redisstore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// hk stands in for the engine's HMAC of a code.
func hk(code string) recovery.KeyedHash {
	sum := sha256.Sum256([]byte("k1\x00" + code))
	return recovery.KeyedHash{KeyID: "k1", Hash: sum[:]}
}

// together runs f(i) for i in [0, n) on n goroutines released at once and
// returns the outcomes and errors in order.
func together(n int, f func(i int) (recovery.Outcome, error)) ([]recovery.Outcome, []error) {
	outs, errs := make([]recovery.Outcome, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return outs, errs
}

// count tallies outcomes and reports errors.
func count(t *testing.T, outs []recovery.Outcome, errs []error) map[recovery.Outcome]int {
	t.Helper()
	n := map[recovery.Outcome]int{}
	for i, o := range outs {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		n[o]++
	}
	return n
}

// testTwoInstances: of 200 concurrent consuming checks of the right code
// through two instances exactly one succeeds, and of 500 concurrent wrong
// guesses exactly as many are charged as the budget has room for.
//
// The two instances are two clients of one Redis, made by dial, with a
// store on each under the same prefix; base deletes the keys afterwards.
func testTwoInstances(t *testing.T, dial func() redis.UniversalClient, base redis.UniversalClient) {
	var clients [2]redis.UniversalClient
	for i := range clients {
		clients[i] = dial()
		t.Cleanup(func() { clients[i].Close() })
	}
	p := newPrefix()
	deleteOnCleanup(t, base, p)
	s := [2]*redisstore.CodeStore{newCodeStore(t, clients[0], p), newCodeStore(t, clients[1], p)}
	ctx := t.Context()
	limits := recovery.CodeLimits{Budget: 10, FailureBudget: 10, Window: time.Hour, MaxFailures: 1000, Cooldown: time.Hour}
	issue := func(user string, code recovery.KeyedHash) {
		t.Helper()
		out, err := s[0].Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: user, Code: code, ExpiresAt: t0.Add(time.Hour), Now: t0, Limits: limits})
		if err != nil || out != recovery.OutcomeOK {
			t.Fatalf("Issue for %s: %v, %v", user, out, err)
		}
	}
	check := func(i int, user string, code recovery.KeyedHash) (recovery.Outcome, error) {
		return s[i%2].Check(ctx, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{code},
			Consume: true, Now: t0.Add(time.Second), Limits: limits})
	}

	t.Run("ConsumeOnce", func(t *testing.T) {
		const n = 200
		issue("u:consume", hk("123456"))
		outs, errs := together(n, func(i int) (recovery.Outcome, error) { return check(i, "u:consume", hk("123456")) })
		got := count(t, outs, errs)
		if got[recovery.OutcomeOK] != 1 || got[recovery.OutcomeExpired] != n-1 {
			t.Errorf("%d concurrent consuming checks of the right code: %v, want 1 ok and %d expired", n, got, n-1)
		}
	})
	t.Run("BudgetExact", func(t *testing.T) {
		const n = 500
		issue("u:guess", hk("123456"))
		outs, errs := together(n, func(i int) (recovery.Outcome, error) { return check(i, "u:guess", hk(fmt.Sprint("wrong", i))) })
		got := count(t, outs, errs)
		if room := limits.FailureBudget; got[recovery.OutcomeMismatch] != room || got[recovery.OutcomeLimitExceeded] != n-room {
			t.Errorf("%d concurrent wrong guesses with a failure budget of %d: %v, want %d mismatch and %d limit_exceeded", n, room, got, room, n-room)
		}
	})
	t.Run("LimiterExact", func(t *testing.T) {
		const n, limit = 300, 25
		ls := [2]*redisstore.Limiter{newLimiter(t, clients[0], p), newLimiter(t, clients[1], p)}
		keys := []recovery.LimitKey{
			{Key: "client:web", Rate: recovery.Rate{Limit: limit, Window: time.Minute}},
			{Key: "ip:192.0.2.1", Rate: recovery.Rate{Limit: limit + 5, Window: time.Minute}},
		}
		var mu sync.Mutex
		allowed := 0
		_, errs := together(n, func(i int) (recovery.Outcome, error) {
			ok, err := ls[i%2].Allow(context.Background(), recovery.LimitRequest{Pool: "p", Keys: keys, Now: t0})
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
			return 0, err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("Allow %d: %v", i, err)
			}
		}
		if allowed != limit {
			t.Errorf("%d concurrent requests with limit %d through two instances: %d allowed", n, limit, allowed)
		}
	})
}

func TestTwoInstancesMiniredis(t *testing.T) {
	m, c := newMiniredis(t)
	testTwoInstances(t, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: m.Addr()}) }, c)
}

func TestTwoInstancesRedis(t *testing.T) {
	c := realRedis(t)
	opts := c.Options()
	testTwoInstances(t, func() redis.UniversalClient { return redis.NewClient(opts) }, c)
}

func TestTwoInstancesCluster(t *testing.T) {
	c := clusterClient(t)
	opts := c.Options()
	testTwoInstances(t, func() redis.UniversalClient { return redis.NewClusterClient(opts) }, c)
}
