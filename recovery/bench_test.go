package recovery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// tickingClock advances by step on every reading, so that a benchmark
// cycling over many users never runs into the per-user budget.
type tickingClock struct {
	base time.Time
	step time.Duration
	n    atomic.Int64
}

func (c *tickingClock) Now() time.Time { return c.base.Add(time.Duration(c.n.Add(1)) * c.step) }

// discardSender drops messages: the benchmark measures the engine, not a
// growing slice of captured messages.
var discardSender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil })

// countingStore counts code-store calls, for the store-calls/op metric.
type countingStore struct {
	recovery.CodeStore
	calls atomic.Int64
}

func (c *countingStore) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	c.calls.Add(1)
	return c.CodeStore.Issue(ctx, p)
}

func (c *countingStore) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	c.calls.Add(1)
	return c.CodeStore.Check(ctx, p)
}

func (c *countingStore) Revoke(ctx context.Context, pool, user string, h recovery.KeyedHash) error {
	c.calls.Add(1)
	return c.CodeStore.Revoke(ctx, pool, user, h)
}

// report adds the measured code-store calls per operation since reset.
func (c *countingStore) report(b *testing.B) {
	b.ReportMetric(float64(c.calls.Load())/float64(b.N), "store-calls/op")
}

func benchEngine(b *testing.B, users *memstore.UserStore, codes recovery.CodeStore, sender recovery.Sender, now func() time.Time, hasher recovery.PasswordHasher) *recovery.Engine {
	b.Helper()
	var outbox recovery.Outbox
	if _, ok := sender.(*capturesender.Sender); ok {
		outbox = recovery.NewInlineOutbox() // the codes are read right after Recover
	}
	return benchEngineWith(b, users, codes, sender, now, hasher, outbox)
}

// droppingOutbox takes deliveries and does nothing with them.
type droppingOutbox struct{}

func (droppingOutbox) Bind(recovery.Deliverer) error                { return nil }
func (droppingOutbox) Put(context.Context, recovery.Delivery) error { return nil }

func benchEngineWith(b *testing.B, users *memstore.UserStore, codes recovery.CodeStore, sender recovery.Sender, now func() time.Time, hasher recovery.PasswordHasher, outbox recovery.Outbox) *recovery.Engine {
	b.Helper()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: outbox,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{testKey},
		Hasher:  hasher,
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
		_, err := users.CreateUser(context.Background(), "default", recovery.User{
			Username:   names[i],
			Attributes: map[string]string{"email": names[i] + "@example.com", "email_verified": "true"},
		}, "")
		if err != nil {
			b.Fatal(err)
		}
	}
	return users, names
}

// BenchmarkRecover measures ForgotPassword on the memory stores: validation,
// lookup, code generation, hashing, one Issue, rendering and a no-op send.
func BenchmarkRecover(b *testing.B) {
	const population = 10_000
	users, names := seedUsers(b, population)
	// One second per call: each user comes round every 10,000 s, outside
	// the one-hour budget window.
	clk := &tickingClock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Second}
	codes := &countingStore{CodeStore: memstore.NewCodeStore()}
	e := benchEngine(b, users, codes, discardSender, clk.Now, recoverytest.InsecureHasher{})
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		codes.calls.Store(0)
		i := 0
		for b.Loop() {
			if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: names[i%population]}); err != nil {
				b.Fatal(err)
			}
			i++
		}
		codes.report(b)
	})
	// The request path alone: the same engine with an outbox that drops
	// what it is given, so the workers' composing and sending (off the
	// request path, counted above) is left out.
	b.Run("request-path", func(b *testing.B) {
		rp := benchEngineWith(b, users, codes, discardSender, clk.Now, recoverytest.InsecureHasher{}, droppingOutbox{})
		b.ReportAllocs()
		codes.calls.Store(0)
		i := 0
		for b.Loop() {
			if _, err := rp.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: names[i%population]}); err != nil {
				b.Fatal(err)
			}
			i++
		}
		codes.report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		codes.calls.Store(0)
		defer codes.report(b)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: names[i%population]}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkConfirm measures a successful ConfirmForgotPassword: one Check that
// consumes the code, hashing the new password and storing it. Each iteration
// needs a fresh code for a distinct user, issued before the timer starts. The
// insecure-hasher variant shows the engine's own cost; argon2id adds the
// password hash the default configuration pays.
func BenchmarkConfirm(b *testing.B) {
	for _, h := range []struct {
		name   string
		hasher recovery.PasswordHasher
	}{{"insecure-hasher", recoverytest.InsecureHasher{}}, {"argon2id", recovery.Argon2id{}}} {
		for _, parallel := range []bool{false, true} {
			mode := "serial"
			if parallel {
				mode = "parallel"
			}
			b.Run(h.name+"/"+mode, func(b *testing.B) {
				users, names := seedUsers(b, b.N)
				sender := capturesender.New()
				clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				store := &countingStore{CodeStore: memstore.NewCodeStore()}
				e := benchEngine(b, users, store, sender, clk.Now, h.hasher)
				ctx := context.Background()
				codes := make([]string, b.N)
				for i, n := range names {
					if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: n}); err != nil {
						b.Fatal(err)
					}
					codes[i], _ = sender.LastCode(n)
				}
				confirm := func(i int) {
					err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: names[i], ConfirmationCode: codes[i], Password: "N3w-password!"})
					if err != nil {
						b.Fatal(err)
					}
				}
				store.calls.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				if !parallel {
					for i := range b.N {
						confirm(i)
					}
				} else {
					var next atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							confirm(int(next.Add(1) - 1))
						}
					})
				}
				store.report(b)
			})
		}
	}
}
