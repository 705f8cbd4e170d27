package asyncsender_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/recovery"
)

func delivery(i int) recovery.Delivery {
	return recovery.Delivery{
		ID: fmt.Sprintf("msg_%032d", i), Pool: "default", ClientID: "web", Medium: recovery.Email,
		To: fmt.Sprintf("u%d@example.com", i), Sub: fmt.Sprintf("sub-%d", i), Code: "493817",
		ExpiresAt: time.Now().Add(time.Hour),
	}
}

// deliverer is a recovery.Deliverer whose attempts a test controls.
type deliverer struct {
	mu        sync.Mutex
	attempt   func(ctx context.Context, d recovery.Delivery, n int) error // n counts this delivery's attempts from 1
	attempts  map[string]int
	done      []string
	abandoned map[string]error
}

func newDeliverer(attempt func(ctx context.Context, d recovery.Delivery, n int) error) *deliverer {
	if attempt == nil {
		attempt = func(context.Context, recovery.Delivery, int) error { return nil }
	}
	return &deliverer{attempt: attempt, attempts: map[string]int{}, abandoned: map[string]error{}}
}

func (f *deliverer) Deliver(ctx context.Context, d recovery.Delivery) error {
	f.mu.Lock()
	f.attempts[d.ID]++
	n := f.attempts[d.ID]
	f.mu.Unlock()
	err := f.attempt(ctx, d, n)
	if err == nil {
		f.mu.Lock()
		f.done = append(f.done, d.ID)
		f.mu.Unlock()
	}
	return err
}

func (f *deliverer) Abandon(_ context.Context, d recovery.Delivery, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandoned[d.ID] = err
}

func (f *deliverer) counts() (done, abandoned int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.done), len(f.abandoned)
}

func newQueue(t *testing.T, d recovery.Deliverer, opts asyncsender.Options) *asyncsender.Queue {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	q, err := asyncsender.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Bind(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q.Close(ctx)
	})
	return q
}

func closeWithin(t *testing.T, q *asyncsender.Queue, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return q.Close(ctx)
}

func TestPutQueuesAndReturns(t *testing.T) {
	release := make(chan struct{})
	d := newDeliverer(func(ctx context.Context, _ recovery.Delivery, _ int) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	q := newQueue(t, d, asyncsender.Options{Workers: 2})
	start := time.Now()
	for i := range 10 {
		if err := q.Put(context.Background(), delivery(i)); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("10 Puts took %s while every delivery blocks: Put waited for delivery", el)
	}
	close(release)
	if err := closeWithin(t, q, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if done, _ := d.counts(); done != 10 {
		t.Fatalf("%d deliveries made, want 10", done)
	}
	if st := q.Stats(); st.Queued != 10 || st.Delivered != 10 || st.InQueue != 0 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestQueueFull(t *testing.T) {
	release := make(chan struct{})
	d := newDeliverer(func(ctx context.Context, _ recovery.Delivery, _ int) error {
		<-release
		return nil
	})
	q := newQueue(t, d, asyncsender.Options{Workers: 1, QueueSize: 2})
	var accepted, full int
	for i := range 10 {
		switch err := q.Put(context.Background(), delivery(i)); {
		case err == nil:
			accepted++
		case errors.Is(err, asyncsender.ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // lets the worker take the first one
	}
	close(release)
	if accepted != 3 || full != 7 {
		t.Fatalf("accepted %d, refused %d: want 3 (one in flight, two queued) and 7", accepted, full)
	}
	if st := q.Stats(); st.Rejected != 7 {
		t.Fatalf("Rejected = %d, want 7", st.Rejected)
	}
}

func TestCloseDeadlineAbandons(t *testing.T) {
	d := newDeliverer(func(ctx context.Context, _ recovery.Delivery, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	q := newQueue(t, d, asyncsender.Options{Workers: 1})
	for i := range 3 {
		if err := q.Put(context.Background(), delivery(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := closeWithin(t, q, 50*time.Millisecond)
	var dropped *asyncsender.DroppedError
	if !errors.As(err, &dropped) || dropped.Dropped != 3 || !errors.Is(err, asyncsender.ErrDropped) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want a DroppedError for 3 deliveries", err)
	}
	if _, abandoned := d.counts(); abandoned != 3 {
		t.Fatalf("%d deliveries abandoned, want 3", abandoned)
	}
	for id, err := range d.abandoned {
		if !errors.Is(err, asyncsender.ErrDropped) {
			t.Errorf("%s abandoned with %v, want ErrDropped", id, err)
		}
	}
	if err := q.Put(context.Background(), delivery(9)); !errors.Is(err, asyncsender.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
}

func TestRetriesThenAbandons(t *testing.T) {
	down := errors.New("connection refused")
	d := newDeliverer(func(context.Context, recovery.Delivery, int) error { return down })
	q := newQueue(t, d, asyncsender.Options{Workers: 1, MaxAttempts: 3, BaseDelay: time.Millisecond})
	if err := q.Put(context.Background(), delivery(1)); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, q, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	id := delivery(1).ID
	if d.attempts[id] != 3 || !errors.Is(d.abandoned[id], down) {
		t.Fatalf("%d attempts, abandoned with %v: want 3 attempts, then abandoned with the last error", d.attempts[id], d.abandoned[id])
	}
	if st := q.Stats(); st.Failed != 1 || st.Retries != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetryThenDelivered(t *testing.T) {
	d := newDeliverer(func(_ context.Context, _ recovery.Delivery, n int) error {
		if n < 3 {
			return errors.New("try again")
		}
		return nil
	})
	q := newQueue(t, d, asyncsender.Options{Workers: 1, MaxAttempts: 3, BaseDelay: time.Millisecond})
	q.Put(context.Background(), delivery(1))
	if err := closeWithin(t, q, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if done, abandoned := d.counts(); done != 1 || abandoned != 0 {
		t.Fatalf("done %d, abandoned %d", done, abandoned)
	}
}

// askingError is a failure that asks for a wait, as webhooksender.Error
// does for a receiver's Retry-After.
type askingError time.Duration

func (e askingError) Error() string                     { return "busy, retry later" }
func (e askingError) RetryAfter() (time.Duration, bool) { return time.Duration(e), true }

// A requested wait replaces the jittered one and is capped by MaxDelay.
func TestRetryAfterSetsTheWait(t *testing.T) {
	for _, tc := range []struct {
		name           string
		asked          time.Duration
		base, maxDelay time.Duration
	}{
		// The backoff alone would wait up to an hour.
		{"asked for no wait", 0, time.Hour, time.Hour},
		// The server asks for an hour; MaxDelay allows 1ms.
		{"capped", time.Hour, time.Millisecond, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeliverer(func(_ context.Context, _ recovery.Delivery, n int) error {
				if n == 1 {
					return fmt.Errorf("wrapped: %w", askingError(tc.asked))
				}
				return nil
			})
			q := newQueue(t, d, asyncsender.Options{Workers: 1, BaseDelay: tc.base, MaxDelay: tc.maxDelay})
			q.Put(context.Background(), delivery(1))
			if err := closeWithin(t, q, 5*time.Second); err != nil {
				t.Fatalf("Close = %v: the retry did not come within 5s", err)
			}
			if done, _ := d.counts(); done != 1 || q.Stats().Retries != 1 {
				t.Fatalf("done %d, stats %+v: want one retry, then delivered", done, q.Stats())
			}
		})
	}
}

func TestNoRetryForPermanentErrors(t *testing.T) {
	for _, err := range []error{recovery.ErrDeliveryUnauthorized, recovery.ErrInvalidLambdaResponse} {
		d := newDeliverer(func(context.Context, recovery.Delivery, int) error { return err })
		q := newQueue(t, d, asyncsender.Options{Workers: 1, MaxAttempts: 5, BaseDelay: time.Millisecond})
		q.Put(context.Background(), delivery(1))
		closeWithin(t, q, 5*time.Second)
		if n := d.attempts[delivery(1).ID]; n != 1 {
			t.Errorf("%v: %d attempts, want 1", err, n)
		}
	}
}

// The request's context ends with the request; the attempt must not.
func TestAttemptsOutliveTheRequest(t *testing.T) {
	var sawCancel atomic.Bool
	d := newDeliverer(func(ctx context.Context, _ recovery.Delivery, _ int) error {
		time.Sleep(20 * time.Millisecond)
		sawCancel.Store(ctx.Err() != nil)
		return nil
	})
	q := newQueue(t, d, asyncsender.Options{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	q.Put(ctx, delivery(1))
	cancel()
	closeWithin(t, q, 5*time.Second)
	if sawCancel.Load() {
		t.Fatal("the attempt's context was cancelled with the request's")
	}
}

func TestPanickingDeliveryIsContained(t *testing.T) {
	d := newDeliverer(func(context.Context, recovery.Delivery, int) error { panic("boom") })
	q := newQueue(t, d, asyncsender.Options{Workers: 1, MaxAttempts: 1})
	q.Put(context.Background(), delivery(1))
	closeWithin(t, q, 5*time.Second)
	if _, abandoned := d.counts(); abandoned != 1 {
		t.Fatalf("%d abandoned, want the panicking delivery abandoned", abandoned)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		q, err := asyncsender.New(asyncsender.Options{Workers: 8})
		if err != nil {
			t.Fatal(err)
		}
		q.Bind(newDeliverer(nil))
		q.Put(context.Background(), delivery(1))
		closeWithin(t, q, time.Second)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after closing, %d before", n, before)
	}
}

func TestNewAndBind(t *testing.T) {
	if _, err := asyncsender.New(asyncsender.Options{QueueSize: -1, Workers: -2, BaseDelay: -time.Second}); err == nil {
		t.Fatal("New accepted negative options")
	}
	q, err := asyncsender.New(asyncsender.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Put(context.Background(), delivery(1)); err == nil {
		t.Fatal("Put on an unbound queue succeeded: the delivery would never be made")
	}
	if err := q.Bind(newDeliverer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := q.Bind(newDeliverer(nil)); err == nil {
		t.Fatal("a second Bind succeeded: one queue would serve two engines")
	}
	if err := closeWithin(t, q, time.Second); err != nil {
		t.Fatal(err)
	}
	unbound, _ := asyncsender.New(asyncsender.Options{})
	if err := closeWithin(t, unbound, time.Second); err != nil {
		t.Fatalf("closing an unbound queue: %v", err)
	}
}
