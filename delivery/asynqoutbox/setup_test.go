package asynqoutbox_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/delivery/internal/outboxtest"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// redisEnv names the variable that points the integration tests at a Redis
// they may write to (under random queue names, which they delete).
const redisEnv = "RECOVERY_TEST_REDIS"

// testKeys seal the tests' deliveries.
var testKeys = []recovery.Key{{ID: "k1", Secret: []byte("asynqoutbox-test-key-0123456789ab")}}

// realRedis returns a client of the Redis that RECOVERY_TEST_REDIS names,
// or skips the test (fails it with RECOVERY_TEST_REQUIRE=1) when it is unset.
func realRedis(t testing.TB) *redis.Client {
	t.Helper()
	url := recoverytest.RequireEnv(t, redisEnv)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", redisEnv, err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("the Redis %s names does not answer: %v", redisEnv, err)
	}
	return c
}

// newQueue returns a queue name no other test uses, and removes every key
// of that queue when the test ends: the keys under asynq:{queue}: on every
// master, and the queue's entry in asynq:queues. It never flushes a
// database, which others may share.
func newQueue(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	q := "rktest-" + strings.ToLower(rand.Text())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, k := range queueKeys(t, ctx, c, q) {
			if err := c.Unlink(ctx, k).Err(); err != nil {
				t.Errorf("deleting %s: %v", k, err)
			}
		}
		if err := c.SRem(ctx, "asynq:queues", q).Err(); err != nil {
			t.Errorf("removing the queue from asynq:queues: %v", err)
		}
	})
	return q
}

// queueKeys lists the keys of queue q, on every master of a Cluster (they
// share one slot, but the test does not rely on it).
func queueKeys(t testing.TB, ctx context.Context, c redis.UniversalClient, q string) []string {
	t.Helper()
	var keys []string
	scan := func(ctx context.Context, node redis.UniversalClient) error {
		it := node.Scan(ctx, 0, "asynq:{"+q+"}:*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		return it.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		ch := make(chan []string, 16)
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			var mine []string
			it := n.Scan(ctx, 0, "asynq:{"+q+"}:*", 1000).Iterator()
			for it.Next(ctx) {
				mine = append(mine, it.Val())
			}
			ch <- mine
			return it.Err()
		})
		close(ch)
		for ks := range ch {
			keys = append(keys, ks...)
		}
	} else {
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatalf("listing the keys of queue %s: %v", q, err)
	}
	return keys
}

// rawQueue returns the stored bytes of every key of queue q, one entry per
// key: a hash's fields and values (a task's "msg" is its whole asynq
// message, payload included), a list's, set's or sorted set's members, a
// string's value.
func rawQueue(t testing.TB, c redis.UniversalClient, q string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var raw [][]byte
	for _, k := range queueKeys(t, ctx, c, q) {
		var b []byte
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var vals []string
		switch typ {
		case "hash":
			m, err2 := c.HGetAll(ctx, k).Result()
			err = err2
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "list":
			vals, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			vals, err = c.SMembers(ctx, k).Result()
		case "zset":
			vals, err = c.ZRange(ctx, k, 0, -1).Result()
		case "string":
			var v string
			v, err = c.Get(ctx, k).Result()
			vals = []string{v}
		case "none": // deleted since the scan
		default:
			t.Fatalf("key %s has type %s, which the test does not read", k, typ)
		}
		if err != nil && err != redis.Nil {
			t.Fatalf("reading %s: %v", k, err)
		}
		for _, v := range vals {
			b = append(b, v...)
			b = append(b, 0)
		}
		raw = append(raw, b)
	}
	return raw
}

// storage is the suite's factory over client c: each subtest gets a queue
// of its own, and each Open a new outbox over it with short waits.
func storage(c redis.UniversalClient) outboxtest.Factory {
	return func(t *testing.T) outboxtest.Storage {
		q := newQueue(t, c)
		return outboxtest.Storage{
			Open: func(t *testing.T, cfg outboxtest.Config) outboxtest.Outbox {
				return open(t, c, asynqoutbox.Options{Queue: q, MaxAttempts: cfg.MaxAttempts})
			},
			Raw: func(t *testing.T) [][]byte { return rawQueue(t, c, q) },
		}
	}
}

// open returns an outbox over c with the tests' keys and short waits,
// closed when the test ends.
func open(t testing.TB, c redis.UniversalClient, opts asynqoutbox.Options) *asynqoutbox.Outbox {
	t.Helper()
	opts.Redis, opts.Keys = c, testKeys
	opts.PollInterval = or(opts.PollInterval, 50*time.Millisecond)
	opts.BaseDelay = or(opts.BaseDelay, 50*time.Millisecond)
	opts.MaxDelay = or(opts.MaxDelay, 200*time.Millisecond)
	opts.AttemptTimeout = or(opts.AttemptTimeout, 5*time.Second)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	o, err := asynqoutbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o.Close(ctx)
	})
	return o
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// The shared behaviour of the durable outboxes, on a single Redis.
func TestSuite(t *testing.T) {
	outboxtest.Run(t, storage(realRedis(t)))
}

// With its default retries the outbox rides out a mail server that is down.
func TestMailOutage(t *testing.T) {
	c := realRedis(t)
	outboxtest.MailOutage(t, func(t *testing.T, keys []recovery.Key) recovery.Outbox {
		o, err := asynqoutbox.New(asynqoutbox.Options{Redis: c, Keys: keys, Queue: newQueue(t, c), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	})
}
