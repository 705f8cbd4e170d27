package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// cmdCounter is a go-redis hook that counts the commands sent, pipelined
// ones included, for the cmds/op metric.
type cmdCounter struct{ n atomic.Int64 }

func (h *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// modes are the clients the benchmarks run on: the plain client, and
// go-redis's AutoPipeliner on it, which batches concurrent commands into
// one write.
var modes = []string{"plain", "autopipeline"}

// scripter returns the client of mode on c.
func scripter(b *testing.B, c *redis.Client, mode string) redis.Scripter {
	b.Helper()
	if mode == "plain" {
		return c
	}
	ap, err := c.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	return ap
}

// benchRedis returns a client of the Redis that RECOVERY_TEST_REDIS names,
// with a pool larger than redis-benchmark's 50 connections and already
// open (so no connection set-up is counted or timed), the scripts loaded
// (so no NOSCRIPT round trip is) and a counting hook; the keys under the
// returned prefix are deleted afterwards.
func benchRedis(b *testing.B) (*redis.Client, *cmdCounter, string) {
	b.Helper()
	base := realRedis(b)
	opts := *base.Options()
	opts.PoolSize = 64
	c := redis.NewClient(&opts)
	b.Cleanup(func() { c.Close() })
	if err := redisstore.LoadScripts(b.Context(), c); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for range opts.PoolSize {
		// WAIT for a replica that does not exist holds a connection 50ms.
		wg.Go(func() { c.Do(b.Context(), "WAIT", 1, 50) })
	}
	wg.Wait()
	h := &cmdCounter{}
	c.AddHook(h)
	p := "rkbench:" + newPrefix()
	deleteOnCleanup(b, c, p)
	return c, h, p
}

// concurrency runs body with c goroutines making calls: serially for 1,
// with b.RunParallel otherwise.
func concurrency(b *testing.B, c int, body func(i int)) {
	b.ResetTimer()
	if c == 1 {
		for i := range b.N {
			body(i)
		}
		return
	}
	var next atomic.Int64
	b.SetParallelism((c + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body(int(next.Add(1) - 1))
		}
	})
}

// report adds cmds/op and ops/s.
func report(b *testing.B, h *cmdCounter, before int64) {
	b.ReportMetric(float64(h.n.Load()-before)/float64(b.N), "cmds/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// tickingClock advances by step on every reading, so that a benchmark
// cycling over many users never runs into the per-user budget.
type tickingClock struct {
	base time.Time
	step time.Duration
	n    atomic.Int64
}

func (c *tickingClock) Now() time.Time { return c.base.Add(time.Duration(c.n.Add(1)) * c.step) }

func benchEngine(b *testing.B, users *memstore.UserStore, codes *redisstore.CodeStore, sender recovery.Sender, now func() time.Time) *recovery.Engine {
	b.Helper()
	// The request path alone: deliveries are dropped. With the default
	// outbox a worker, whose clock here may run a second per request,
	// would find deliveries older than StaleDelivery and ask the store
	// whether their codes are current: commands the figures would count
	// against the request.
	var outbox recovery.Outbox = droppingOutbox{}
	if _, ok := sender.(*capturesender.Sender); ok {
		outbox = recovery.NewInlineOutbox() // the codes are read right after Recover
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: outbox,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("bench-key-of-at-least-32-bytes-long")}},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     now,
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func seedUsers(b *testing.B, n int) (*memstore.UserStore, []string) {
	b.Helper()
	users := memstore.NewUserStore()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%07d", i)
		if _, err := users.CreateUser(context.Background(), "default", recovery.User{
			Username:   names[i],
			Attributes: map[string]string{"email": names[i] + "@example.com", "email_verified": "true"},
		}, ""); err != nil {
			b.Fatal(err)
		}
	}
	return users, names
}

var discard = recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil })

// BenchmarkRecover measures ForgotPassword through the engine with codes in
// Redis: one Issue script per call (cmds/op 1).
func BenchmarkRecover(b *testing.B) {
	c, h, p := benchRedis(b)
	const population = 10_000
	users, names := seedUsers(b, population)
	// One second per clock reading: a user comes round every 10,000 s,
	// outside the one-hour budget window.
	clk := &tickingClock{base: t0, step: time.Second}
	ctx := context.Background()
	for _, mode := range modes {
		e := benchEngine(b, users, newCodeStore(b, scripter(b, c, mode), p), discard, clk.Now)
		for _, conc := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/c=%d", mode, conc), func(b *testing.B) {
				b.ReportAllocs()
				before := h.n.Load()
				concurrency(b, conc, func(i int) {
					if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: names[i%population]}); err != nil {
						b.Fatal(err)
					}
				})
				report(b, h, before)
			})
		}
	}
}

// BenchmarkConfirm measures a successful ConfirmForgotPassword through the
// engine with codes in Redis (and the insecure test hasher, so the password
// hash does not dominate): one Check script per call (cmds/op 1). Each
// iteration consumes a fresh code of its own user, issued before the timer
// starts.
func BenchmarkConfirm(b *testing.B) {
	c, h, p := benchRedis(b)
	ctx := context.Background()
	for _, mode := range modes {
		codes := newCodeStore(b, scripter(b, c, mode), p)
		for _, conc := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/c=%d", mode, conc), func(b *testing.B) {
				users, names := seedUsers(b, b.N)
				sender := capturesender.New()
				e := benchEngine(b, users, codes, sender, func() time.Time { return t0 })
				seed(b, e, names)
				sent := make([]string, b.N)
				for i, n := range names {
					sent[i], _ = sender.LastCode(n)
				}
				sender.Reset()
				b.ReportAllocs()
				before := h.n.Load()
				concurrency(b, conc, func(i int) {
					if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: names[i], ConfirmationCode: sent[i], Password: "N3w-password!"}); err != nil {
						b.Fatal(err)
					}
				})
				report(b, h, before)
			})
		}
	}
}

// seed sends every user a code, from 32 goroutines.
func seed(b *testing.B, e *recovery.Engine, names []string) {
	b.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				if _, err := e.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: names[i]}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkCodeStore measures the store alone, without the engine: the
// client's and the script's cost, to set beside redis-benchmark's.
func BenchmarkCodeStore(b *testing.B) {
	c, h, p := benchRedis(b)
	ctx := context.Background()
	limits := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 100, Cooldown: 24 * time.Hour}
	code := hk("123456")
	for _, mode := range modes {
		s := newCodeStore(b, scripter(b, c, mode), p)
		for _, conc := range []int{1, 50} {
			b.Run(fmt.Sprintf("issue/%s/c=%d", mode, conc), func(b *testing.B) {
				b.ReportAllocs()
				run := newPrefix() // fresh users per run
				before := h.n.Load()
				concurrency(b, conc, func(i int) {
					out, err := s.Issue(ctx, recovery.IssueParams{Pool: "default", UserKey: run + strconv.Itoa(i), Code: code, ExpiresAt: t0.Add(time.Hour), Now: t0, Limits: limits})
					if err != nil || out != recovery.OutcomeOK {
						b.Fatal(out, err)
					}
				})
				report(b, h, before)
			})
		}
	}
}

// droppingOutbox takes deliveries and does nothing with them.
type droppingOutbox struct{}

func (droppingOutbox) Bind(recovery.Deliverer) error                { return nil }
func (droppingOutbox) Put(context.Context, recovery.Delivery) error { return nil }
