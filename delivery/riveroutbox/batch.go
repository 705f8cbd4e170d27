package riveroutbox

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// maxBatch bounds how many deliveries one insert carries, and maxInserts
// how many inserts are under way at once: a slow one holds up the Puts
// queued behind it, but not those of the others.
const (
	maxBatch   = 128
	maxInserts = 2
)

// insertTimeout bounds an insert made for several Puts: it runs on a
// context of its own, since no single caller's may cut it short for the
// others.
const insertTimeout = 30 * time.Second

// batcher inserts the Puts that arrive while maxInserts inserts are under
// way together, in one transaction and one statement (group commit): a
// Put inserts at once, alone, while fewer are; those that arrive
// meanwhile queue, and when an insert is done the first of them inserts
// them all; and so on. Nothing waits for a batch to fill, so a lone Put
// costs what it did, and under load a Put costs a share of one
// transaction instead of one of its own. Each Put still returns only once
// its delivery is committed, with its own result.
type batcher struct {
	mu      sync.Mutex
	inserts int         // inserts under way
	waiting []*putOrder // queued for the next insert, oldest first
}

// putOrder is one Put waiting in a batcher.
type putOrder struct {
	params river.InsertManyParams
	done   chan struct{} // closed when res and err are set, or when lead is
	lead   []*putOrder   // when set, this Put must insert lead (itself first)
	res    *rivertype.JobInsertResult
	err    error
}

// insertGrouped inserts p, alone or with others, and returns its result.
func (o *Outbox) insertGrouped(ctx context.Context, p river.InsertManyParams) (*rivertype.JobInsertResult, error) {
	b := &o.batch
	order := &putOrder{params: p, done: make(chan struct{})}
	b.mu.Lock()
	if b.inserts < maxInserts {
		b.inserts++
		b.mu.Unlock()
		o.insertBatch(ctx, []*putOrder{order})
		return order.res, order.err
	}
	b.waiting = append(b.waiting, order)
	b.mu.Unlock()
	select {
	case <-order.done:
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.waiting, order); i >= 0 {
			b.waiting = slices.Delete(b.waiting, i, i+1)
			b.mu.Unlock()
			return nil, ctx.Err() // not inserted
		}
		b.mu.Unlock()
		<-order.done // taken already: its outcome is on its way, and is the truth
	}
	if order.lead != nil {
		o.insertBatch(ctx, order.lead)
	}
	return order.res, order.err
}

// insertBatch inserts the orders of batch, sets each one's result, then
// hands the next batch, if Puts queued meanwhile, to the first of them.
// One statement cannot insert a job twice, so a delivery put again in the
// same batch is inserted after it, on its own (River answers it as a
// duplicate); and a batch that fails is inserted again one by one, so
// that one bad delivery fails alone.
func (o *Outbox) insertBatch(ctx context.Context, batch []*putOrder) {
	if len(batch) == 1 {
		batch[0].res, batch[0].err = o.client.Insert(ctx, batch[0].params.Args, batch[0].params.InsertOpts)
	} else {
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), insertTimeout)
		var first, again []*putOrder
		seen := make(map[string]bool, len(batch))
		for _, order := range batch {
			id := order.params.Args.(args).ID
			if seen[id] {
				again = append(again, order)
			} else {
				seen[id] = true
				first = append(first, order)
			}
		}
		params := make([]river.InsertManyParams, len(first))
		for i, order := range first {
			params[i] = order.params
		}
		res, err := o.client.InsertMany(ictx, params)
		for i, order := range first {
			if err == nil {
				order.res = res[i]
			} else {
				again = append(again, order)
			}
		}
		for _, order := range again {
			order.res, order.err = o.client.Insert(ictx, order.params.Args, order.params.InsertOpts)
		}
		cancel()
	}

	b := &o.batch
	b.mu.Lock()
	var next []*putOrder
	if len(b.waiting) > 0 {
		n := min(len(b.waiting), maxBatch)
		next = slices.Clone(b.waiting[:n])
		b.waiting = slices.Delete(b.waiting, 0, n)
	} else {
		b.inserts--
	}
	b.mu.Unlock()
	for _, order := range batch[1:] {
		close(order.done)
	}
	if next != nil {
		next[0].lead = next
		close(next[0].done)
	}
}
