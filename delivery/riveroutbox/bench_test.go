package riveroutbox_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
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

// BenchmarkPutParallel is Put from GOMAXPROCS goroutines on one pool.
func BenchmarkPutParallel(b *testing.B) {
	pool, schema := testDB(b)
	o := newOutbox(b, pool, fastOptions(schema, 3))
	ctx := b.Context()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := o.Put(ctx, benchDelivery(n.Add(1), false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

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
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := o.Put(ctx, benchDelivery(n.Add(1), false)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := o.Close(closeCtx); err != nil {
		b.Fatal(err)
	}
	if got := d.n.Load(); got != n.Load() {
		b.Fatalf("%d of %d deliveries made", got, n.Load())
	}
}
