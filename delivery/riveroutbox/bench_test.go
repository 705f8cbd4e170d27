package riveroutbox_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// benchDelivery is a real delivery or a decoy, unique by i.
func benchDelivery(i int64, decoy bool) recovery.Delivery {
	now := time.Now()
	if decoy {
		return recovery.Delivery{ID: fmt.Sprintf("msg_%032x", i), Pool: recovery.DefaultPoolID, IssuedAt: now, ExpiresAt: now.Add(time.Hour), Decoy: true}
	}
	return recovery.Delivery{
		ID: fmt.Sprintf("msg_%032x", i), Pool: recovery.DefaultPoolID, ClientID: "web", Medium: recovery.Email,
		To: "alice@example.com", Username: "alice", Sub: "sub-alice", Code: "123456", KeyID: "k1",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true", "locale": "en"},
		IssuedAt:   now, ExpiresAt: now.Add(time.Hour),
	}
}

// BenchmarkPut measures Put on real Postgres: sealing and one River
// insert, no workers running.
func BenchmarkPut(b *testing.B) {
	for _, decoy := range []bool{false, true} {
		b.Run(fmt.Sprintf("decoy=%v", decoy), func(b *testing.B) {
			pool, schema := testDB(b)
			o := newOutbox(b, pool, fastOptions(schema, 3))
			ctx := b.Context()
			var i int64
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := o.Put(ctx, benchDelivery(i, decoy)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutParallel is Put from 1 and 16 goroutines on one pool, with
// the transactions each Put costs (commits/op): concurrent Puts share
// inserts.
func BenchmarkPutParallel(b *testing.B) {
	for _, c := range []int{1, 16} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			_, schema := testDB(b)
			pool, commits := countingPool(b, int32(c))
			o := newOutbox(b, pool, fastOptions(schema, 3))
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism((c + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			commits.n.Store(0)
			b.ResetTimer()
			putParallel(b, o, &n)
			b.ReportMetric(float64(commits.n.Load())/float64(b.N), "commits/op")
		})
	}
}

// countingPool is a pool on the test database of at most maxConns
// connections (0: pgxpool's default), closed when the test ends, and the
// counter of its COMMITs.
func countingPool(t testing.TB, maxConns int32) (*pgxpool.Pool, *commitCounter) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	commits := &commitCounter{}
	cfg.ConnConfig.Tracer = commits
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, commits
}

// commitCounter counts the COMMITs a pool sends.
type commitCounter struct{ n atomic.Int64 }

func (c *commitCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.EqualFold(strings.TrimSpace(d.SQL), "commit") {
		c.n.Add(1)
	}
	return ctx
}

func (c *commitCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countingDeliverer counts Deliver calls.
type countingDeliverer struct{ n atomic.Int64 }

func (c *countingDeliverer) Deliver(context.Context, recovery.Delivery) error  { c.n.Add(1); return nil }
func (c *countingDeliverer) Abandon(context.Context, recovery.Delivery, error) {}

// BenchmarkDeliver measures the workers' throughput: b.N deliveries put
// from GOMAXPROCS goroutines and made by 16 workers with a Deliverer that
// does nothing, so ns/op is River's and the sealing's cost per delivery,
// from Put to completion.
func BenchmarkDeliver(b *testing.B) {
	pool, schema := testDB(b)
	opts := fastOptions(schema, 3)
	opts.Workers = 16
	o := newOutbox(b, pool, opts)
	d := &countingDeliverer{}
	if err := o.Bind(d); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	var n atomic.Int64
	b.ReportAllocs()
	putParallel(b, o, &n)
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := o.Close(closeCtx); err != nil {
		b.Fatal(err)
	}
	if got := d.n.Load(); got != n.Load() {
		b.Fatalf("%d of %d deliveries made", got, n.Load())
	}
}

// putParallel puts b.N deliveries from b.RunParallel's goroutines,
// numbering them with n.
func putParallel(b *testing.B, o *riveroutbox.Outbox, n *atomic.Int64) {
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := o.Put(ctx, benchDelivery(n.Add(1), false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
