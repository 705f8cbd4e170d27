package riveroutbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/recoverykit/recoverykit/recovery"
)

// Bind implements recovery.Outbox: it starts River's workers, which
// deliver through d. An Outbox serves one engine.
func (o *Outbox) Bind(d recovery.Deliverer) error {
	if d == nil {
		return errors.New("riveroutbox: Bind: the deliverer is nil")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.d != nil:
		return errors.New("riveroutbox: the outbox is bound to an engine already: give each engine its own Outbox")
	case o.closed:
		return ErrClosed
	case o.opts.InsertOnly:
		o.d = d
		return nil
	}
	events, unsub := o.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	// The client lives until Close, not as long as some caller's context.
	if err := o.client.Start(context.Background()); err != nil {
		unsub()
		return fmt.Errorf("riveroutbox: starting River: %w", err)
	}
	o.d, o.unsub = d, unsub
	go o.forget(events)
	return nil
}

// forget drops finished jobs from the pending set, which only Close reads.
// An event River drops leaves its job there until Close finds it done.
func (o *Outbox) forget(events <-chan *river.Event) {
	for ev := range events {
		if ev.Job != nil && final(ev.Job.State) {
			o.pmu.Lock()
			delete(o.pending, ev.Job.ID)
			o.pmu.Unlock()
		}
	}
}

func final(s rivertype.JobState) bool {
	return s == rivertype.JobStateCompleted || s == rivertype.JobStateCancelled || s == rivertype.JobStateDiscarded
}

// Put implements recovery.Outbox: it seals d and inserts it as a River
// job, unique by d.ID. It returns an error wrapping ErrClosed after Close,
// and the database's error when the insert fails.
//
// Puts that arrive while two inserts are under way wait and are inserted
// together, in one transaction (group commit), so that under load a Put
// costs a share of a commit; each returns once its own delivery is
// committed, with its own outcome. A Put whose ctx ends while it waits
// returns ctx's error and inserts nothing; once its insert has begun it
// waits for the outcome, which is the truth either way.
func (o *Outbox) Put(ctx context.Context, d recovery.Delivery) error {
	return o.put(ctx, nil, d)
}

// PutTx is Put inside tx: the delivery is made only if tx commits. A
// delivery put with PutTx on a bound Outbox counts for Close's drain once
// tx commits.
func (o *Outbox) PutTx(ctx context.Context, tx pgx.Tx, d recovery.Delivery) error {
	if tx == nil {
		return errors.New("riveroutbox: PutTx: the transaction is nil")
	}
	return o.put(ctx, tx, d)
}

func (o *Outbox) put(ctx context.Context, tx pgx.Tx, d recovery.Delivery) error {
	sealed, err := o.sealer.Seal(d)
	if err != nil {
		return fmt.Errorf("riveroutbox: %w", err)
	}
	// The read lock keeps Close from starting its drain while an insert
	// it must wait for is under way.
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	a := args{ID: d.ID, Sealed: sealed}
	var res *rivertype.JobInsertResult
	if tx != nil {
		res, err = o.client.InsertTx(ctx, tx, a, o.insert)
	} else {
		res, err = o.insertGrouped(ctx, river.InsertManyParams{Args: a, InsertOpts: o.insert})
	}
	if err != nil {
		return fmt.Errorf("riveroutbox: inserting delivery %s: %w", d.ID, err)
	}
	if o.d != nil && !o.opts.InsertOnly && !res.UniqueSkippedAsDuplicate {
		o.pmu.Lock()
		o.pending[res.Job.ID] = struct{}{}
		o.pmu.Unlock()
	}
	return nil
}

// Close stops accepting deliveries and, on a bound Outbox, waits until the
// deliveries put through it are made (by any instance) or given up, or
// until ctx ends; then it stops River, cancelling the attempts still
// running, which are retried by the next instance. Deliveries left
// undelivered stay in the job table for the next instance: none is
// abandoned. Close returns ctx's error if it ended first. Calling it again
// is harmless.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	working := o.d != nil && !o.opts.InsertOnly
	o.mu.Unlock()
	if !working {
		return nil
	}
	drainErr := o.drain(ctx)
	if err := o.client.Stop(ctx); err != nil {
		// ctx ended: cancel the attempts, which honour their context, and
		// wait for them a little longer than one attempt may last.
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.opts.AttemptTimeout+5*time.Second)
		defer cancel()
		if herr := o.client.StopAndCancel(hard); herr != nil {
			return fmt.Errorf("riveroutbox: stopping River: %w", herr)
		}
	}
	o.unsub()
	if drainErr != nil {
		return fmt.Errorf("riveroutbox: closed with deliveries waiting in the job table: %w", drainErr)
	}
	return nil
}

// drain waits until no job of the pending set is waiting or running.
func (o *Outbox) drain(ctx context.Context) error {
	for {
		o.pmu.Lock()
		ids := make([]int64, 0, len(o.pending))
		for id := range o.pending {
			ids = append(ids, id)
		}
		o.pmu.Unlock()
		if len(ids) == 0 {
			return nil
		}
		waiting := 0
		for chunk := range slices.Chunk(ids, 1000) {
			res, err := o.client.JobList(ctx, river.NewJobListParams().IDs(chunk...).First(len(chunk)))
			if err != nil {
				return err
			}
			still := make(map[int64]bool, len(res.Jobs))
			for _, j := range res.Jobs {
				still[j.ID] = !final(j.State)
			}
			o.pmu.Lock()
			for _, id := range chunk {
				if still[id] {
					waiting++
				} else {
					delete(o.pending, id) // finished, or its transaction rolled back
				}
			}
			o.pmu.Unlock()
		}
		if waiting == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
