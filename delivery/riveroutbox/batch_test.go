package riveroutbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestPutsShareInserts: Puts that arrive while inserts are under way wait
// and are inserted together, in fewer transactions than Puts, each Put
// returning once its delivery is committed; a Put whose context ends while
// it waits returns the context's error and its delivery is not inserted;
// the same delivery put twice in one batch is one job. Inserts are held
// up by a lock on River's job table, so that Puts queue.
func TestPutsShareInserts(t *testing.T) {
	_, schema := testDB(t)
	pool, commits := countingPool(t, 0)
	o := newOutbox(t, pool, fastOptions(schema, 3)) // never bound: inserts only
	ctx := t.Context()
	jobs := pgx.Identifier{schema, "river_job"}.Sanitize()

	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.Background())
	if _, err := lock.Exec(ctx, "LOCK TABLE "+jobs+" IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// A lock wait shows in pg_stat_activity; wait until n Puts wait on it.
	waitingOnLock := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var got int
			if _, err := lock.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
				t.Fatal(err)
			}
			if err := lock.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query ILIKE '%river_job%'").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d inserts wait on the lock, want %d", got, n)
			}
		}
	}

	var wg sync.WaitGroup
	errs := make([]error, 12)
	put := func(i int, d recovery.Delivery) {
		wg.Go(func() { errs[i] = o.Put(ctx, d) })
	}
	put(0, benchDelivery(0, false))
	put(1, benchDelivery(1, false))
	waitingOnLock(2) // the inserts under way; the Puts below queue behind them
	short, cancel := context.WithCancel(ctx)
	cancelled := make(chan error)
	go func() { cancelled <- o.Put(short, benchDelivery(99, false)) }()
	for i := 2; i < 11; i++ {
		put(i, benchDelivery(int64(i), false))
	}
	put(11, benchDelivery(10, false)) // the same delivery as Put 10
	time.Sleep(50 * time.Millisecond) // let them all queue
	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a Put cancelled while it waited: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("a Put cancelled while it waited has not returned after 5 s")
	}
	commits.n.Store(0)
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	var ids []string
	rows, err := pool.Query(ctx, "SELECT args->>'id' FROM "+jobs+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 11 {
		want = append(want, fmt.Sprintf("msg_%032x", i))
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("jobs: %q, want %q (the cancelled Put's delivery left out, the repeated one once)", ids, want)
	}
	// The two held-up inserts, then the ten queued Puts in one or two more.
	if n := commits.n.Load(); n > 4 {
		t.Errorf("%d commits for 12 Puts queued behind 2 inserts, want at most 4", n)
	}
}
