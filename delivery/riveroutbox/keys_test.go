package riveroutbox_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// countingAbandons counts Deliver and Abandon calls.
type countingAbandons struct{ delivered, abandoned atomic.Int64 }

func (c *countingAbandons) Deliver(context.Context, recovery.Delivery) error {
	c.delivered.Add(1)
	return nil
}
func (c *countingAbandons) Abandon(context.Context, recovery.Delivery, error) { c.abandoned.Add(1) }

// Jobs sealed before a key rotation are made while the old key is still
// listed; once it is gone, they are cancelled without reaching Deliver.
func TestKeyRotation(t *testing.T) {
	pool, schema := testDB(t)
	oldKey := recovery.Key{ID: "old", Secret: bytes.Repeat([]byte{1}, 32)}
	newKey := recovery.Key{ID: "new", Secret: bytes.Repeat([]byte{2}, 32)}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	putWith := func(keys []recovery.Key, id string) {
		opts := fastOptions(schema, 3)
		opts.Keys = keys
		o := newOutbox(t, pool, opts)
		if err := o.Put(ctx, recovery.Delivery{ID: id, Code: "123456", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	workWith := func(keys []recovery.Key) *countingAbandons {
		opts := fastOptions(schema, 3)
		opts.Keys = keys
		o := newOutbox(t, pool, opts)
		c := &countingAbandons{}
		if err := o.Bind(c); err != nil {
			t.Fatal(err)
		}
		for ctx.Err() == nil && jobStates(ctx, t, pool, schema)["available"]+jobStates(ctx, t, pool, schema)["running"] > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if err := o.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}

	putWith([]recovery.Key{oldKey}, "msg_sealed_under_old_1")
	if c := workWith([]recovery.Key{newKey, oldKey}); c.delivered.Load() != 1 || c.abandoned.Load() != 0 {
		t.Fatalf("with the old key listed second: %d delivered, %d abandoned; want 1, 0", c.delivered.Load(), c.abandoned.Load())
	}
	putWith([]recovery.Key{oldKey}, "msg_sealed_under_old_2")
	if c := workWith([]recovery.Key{newKey}); c.delivered.Load() != 0 || c.abandoned.Load() != 0 {
		t.Fatalf("with the old key gone: %d delivered, %d abandoned; want 0, 0", c.delivered.Load(), c.abandoned.Load())
	}
	if s := jobStates(ctx, t, pool, schema); s["completed"] != 1 || s["cancelled"] != 1 {
		t.Fatalf("jobs by state %v: want one completed, one cancelled", s)
	}
}
