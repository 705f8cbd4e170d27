package riveroutbox_test

import (
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
