package redisstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// redisEnv names the variable that points the integration tests at a Redis
// they may write to (under random prefixes, which they delete afterwards).
const redisEnv = "RECOVERY_TEST_REDIS"

// t0 is the injected base time of this package's own tests: fixed, with a
// millisecond part, unrelated to the wall clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// newPrefix returns a key prefix no other test uses.
func newPrefix() string { return "rktest:" + rand.Text() + ":" }

// newMiniredis starts a miniredis for the test and returns it with a client
// that gives up quickly once the miniredis is closed.
func newMiniredis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), DialerRetries: 1, MaxRetryBackoff: 10 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	return m, c
}

// realRedis returns a client of the Redis that RECOVERY_TEST_REDIS names,
// or skips the test (fails it with RECOVERY_TEST_REQUIRE=1) when it is unset.
func realRedis(t testing.TB) *redis.Client {
	t.Helper()
	url := recoverytest.RequireEnv(t, redisEnv)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s=%q: %v", redisEnv, url, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("%s=%q does not answer: %v", redisEnv, url, err)
	}
	return c
}

// deleteOnCleanup removes every key under prefix when the test ends, on
// every master of a Cluster. It never flushes a database: other tests and
// other people may share the server.
func deleteOnCleanup(t testing.TB, c redis.UniversalClient, prefix string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		del := func(ctx context.Context, node redis.UniversalClient) error {
			var cursor uint64
			for {
				keys, next, err := node.Scan(ctx, cursor, prefix+"*", 1000).Result()
				if err != nil {
					return err
				}
				// One UNLINK per key: in a Cluster, keys of different slots
				// cannot share a command even on one node.
				if _, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range keys {
						p.Unlink(ctx, k)
					}
					return nil
				}); err != nil {
					return err
				}
				if cursor = next; cursor == 0 {
					return nil
				}
			}
		}
		var err error
		if cc, ok := c.(*redis.ClusterClient); ok {
			err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return del(ctx, node) })
		} else {
			err = del(ctx, c)
		}
		if err != nil {
			t.Errorf("deleting the keys under %q: %v", prefix, err)
		}
	})
}

// keysUnder lists the keys under prefix, on every master of a Cluster.
func keysUnder(t testing.TB, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	scan := func(ctx context.Context, node redis.UniversalClient) error {
		ks, err := node.Keys(ctx, prefix+"*").Result()
		keys = append(keys, ks...)
		return err
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	} else {
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatalf("listing the keys under %q: %v", prefix, err)
	}
	return keys
}

func newCodeStore(t testing.TB, c redis.Scripter, prefix string) *redisstore.CodeStore {
	t.Helper()
	s, err := redisstore.NewCodeStore(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newLimiter(t testing.TB, c redis.Scripter, prefix string) *redisstore.Limiter {
	t.Helper()
	l, err := redisstore.NewLimiter(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// conformance runs both suites against c, with a fresh prefix per factory
// call whose keys are deleted when the subtest ends.
func conformance(t *testing.T, c redis.UniversalClient) { conformanceOn(t, c, c) }

// conformanceOn runs both suites against stores on s, deleting their keys
// through c.
func conformanceOn(t *testing.T, s redis.Scripter, c redis.UniversalClient) {
	t.Run("CodeStore", func(t *testing.T) {
		recoverytest.TestCodeStore(t, func(t *testing.T) recovery.CodeStore {
			p := newPrefix()
			deleteOnCleanup(t, c, p)
			return newCodeStore(t, s, p)
		})
	})
	t.Run("RequestLimiter", func(t *testing.T) {
		recoverytest.TestRequestLimiter(t, func(t *testing.T) recovery.RequestLimiter {
			p := newPrefix()
			deleteOnCleanup(t, c, p)
			return newLimiter(t, s, p)
		})
	})
}

// requireBinaries skips the test (fails it with RECOVERY_TEST_REQUIRE=1)
// when one of the programs it runs is not installed.
func requireBinaries(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := strings.Join(missing, " and ") + " not found in PATH (apt-get install redis-server redis-tools)"
	if os.Getenv("RECOVERY_TEST_REQUIRE") == "1" {
		t.Fatalf("%s, and RECOVERY_TEST_REQUIRE=1", msg)
	}
	t.Skip(msg)
}
