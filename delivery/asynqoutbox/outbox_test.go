package asynqoutbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/recovery"
)

// deliverer records attempts and abandons by ID; attempt, when set, answers
// each attempt.
type deliverer struct {
	mu        sync.Mutex
	attempts  map[string]int
	abandoned map[string][]error
	attempt   func(ctx context.Context, d recovery.Delivery) error
}

func newDeliverer(attempt func(context.Context, recovery.Delivery) error) *deliverer {
	return &deliverer{attempts: map[string]int{}, abandoned: map[string][]error{}, attempt: attempt}
}

func (f *deliverer) Deliver(ctx context.Context, d recovery.Delivery) error {
	f.mu.Lock()
	f.attempts[d.ID]++
	f.mu.Unlock()
	if f.attempt != nil {
		return f.attempt(ctx, d)
	}
	return nil
}

func (f *deliverer) Abandon(_ context.Context, d recovery.Delivery, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandoned[d.ID] = append(f.abandoned[d.ID], err)
}

func (f *deliverer) counts(id string) (attempts, abandons int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id], len(f.abandoned[id])
}

func delivery(i int) recovery.Delivery {
	now := time.Now()
	return recovery.Delivery{
		ID: fmt.Sprintf("msg_%032x", now.UnixNano()+int64(i)), Pool: "default", ClientID: "web", Medium: recovery.Email,
		To: fmt.Sprintf("user%d@mail.example", i), Username: fmt.Sprintf("user%d", i), Sub: fmt.Sprintf("sub-%d", i),
		Code: "493817", KeyID: "k1", IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer c.Close()
	for _, tc := range []struct {
		name string
		opts asynqoutbox.Options
		want string
	}{
		{"no redis", asynqoutbox.Options{Keys: testKeys}, "Options.Redis"},
		{"no keys", asynqoutbox.Options{Redis: c}, "Options.Keys"},
		{"short key", asynqoutbox.Options{Redis: c, Keys: []recovery.Key{{ID: "k", Secret: []byte("tiny-secret")}}}, "32 random bytes"},
		{"queue with braces", asynqoutbox.Options{Redis: c, Keys: testKeys, Queue: "a}b"}, "Options.Queue"},
		{"negative attempts", asynqoutbox.Options{Redis: c, Keys: testKeys, MaxAttempts: -1}, "Options.MaxAttempts"},
		{"negative timeout", asynqoutbox.Options{Redis: c, Keys: testKeys, AttemptTimeout: -time.Second}, "Options.AttemptTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := asynqoutbox.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "tiny-secret") {
				t.Fatalf("the error %q quotes the secret", err)
			}
		})
	}
	if _, err := asynqoutbox.New(asynqoutbox.Options{Redis: c, Keys: testKeys}); err != nil {
		t.Fatalf("New with the required options: %v", err)
	}
}

// Put tells when Redis cannot be reached, without the delivery's content,
// and refuses deliveries after Close.
func TestPutErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	o, err := asynqoutbox.New(asynqoutbox.Options{Redis: c, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	d := delivery(0)
	err = o.Put(t.Context(), d)
	if err == nil {
		t.Fatal("Put succeeded with Redis unreachable")
	}
	for _, secret := range []string{d.Code, d.To, d.Username} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Put's error %q contains %q", err, secret)
		}
	}
	if err := o.Close(t.Context()); err != nil {
		t.Fatalf("Close of an outbox never bound: %v", err)
	}
	if err := o.Put(t.Context(), d); !errors.Is(err, recovery.ErrOutboxClosed) || !errors.Is(err, asynqoutbox.ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed wrapping recovery.ErrOutboxClosed", err)
	}
	if err := o.Bind(newDeliverer(nil)); err == nil {
		t.Fatal("Bind after Close succeeded")
	}
}

// A panicking Deliver (a sender or a hook) is a failed attempt, retried.
func TestPanicIsRetried(t *testing.T) {
	c := realRedis(t)
	q := newQueue(t, c)
	o := open(t, c, asynqoutbox.Options{Queue: q, MaxAttempts: 3})
	var n int
	var mu sync.Mutex
	f := newDeliverer(func(context.Context, recovery.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			panic("sender bug")
		}
		return nil
	})
	if err := o.Bind(f); err != nil {
		t.Fatal(err)
	}
	d := delivery(0)
	if err := o.Put(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delivery was not tried again after a panic", func() bool { n, _ := f.counts(d.ID); return n == 2 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, abandons := f.counts(d.ID); n != 2 || abandons != 0 {
		t.Fatalf("%d attempts, %d abandons; want 2 and 0", n, abandons)
	}
}

// Close whose context ends interrupts the attempt in progress: the delivery
// is neither abandoned nor counted as an attempt, and the next instance
// makes it, even with MaxAttempts 1.
func TestCloseInterruptedLeavesTheDeliveryQueued(t *testing.T) {
	c := realRedis(t)
	q := newQueue(t, c)
	first := open(t, c, asynqoutbox.Options{Queue: q, MaxAttempts: 1})
	blocked := newDeliverer(func(ctx context.Context, _ recovery.Delivery) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err := first.Bind(blocked); err != nil {
		t.Fatal(err)
	}
	d := delivery(0)
	if err := first.Put(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delivery never reached Deliver", func() bool { n, _ := blocked.counts(d.ID); return n == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := first.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want context.DeadlineExceeded: the queue was not drained", err)
	}
	if _, abandons := blocked.counts(d.ID); abandons != 0 {
		t.Fatalf("the interrupted delivery was abandoned %d times; it must stay queued", abandons)
	}

	second := open(t, c, asynqoutbox.Options{Queue: q, MaxAttempts: 1})
	f := newDeliverer(nil)
	if err := second.Bind(f); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the next instance did not make the interrupted delivery", func() bool { n, _ := f.counts(d.ID); return n == 1 })
	closeCtx, cancelClose := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelClose()
	if err := second.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if n, abandons := f.counts(d.ID); n != 1 || abandons != 0 {
		t.Fatalf("after the restart: %d attempts, %d abandons; want 1 and 0", n, abandons)
	}
}

// A task sealed under a key the outbox no longer has is archived, not
// retried, and never reaches Deliver; one sealed under a key listed after
// the first (a rotation) is delivered.
func TestKeys(t *testing.T) {
	c := realRedis(t)
	q := newQueue(t, c)
	old := []recovery.Key{{ID: "k0", Secret: []byte("asynqoutbox-old-key-0123456789abc")}}
	rotated := append(append([]recovery.Key{}, testKeys...), old...)
	d1, d2 := delivery(1), delivery(2)
	if err := open(t, c, asynqoutbox.Options{Queue: q}).Put(t.Context(), d1); err != nil {
		t.Fatal(err)
	}
	byOld, err := asynqoutbox.New(asynqoutbox.Options{Redis: c, Keys: old, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	if err := byOld.Put(t.Context(), d2); err != nil {
		t.Fatal(err)
	}
	byOld.Close(t.Context())

	// testKeys only: d2 cannot be opened.
	o := open(t, c, asynqoutbox.Options{Queue: q})
	f := newDeliverer(nil)
	if err := o.Bind(f); err != nil {
		t.Fatal(err)
	}
	inspect := asynq.NewInspectorFromRedisClient(c)
	eventually(t, "the task sealed under an unknown key was not archived", func() bool {
		archived, _ := inspect.ListArchivedTasks(q)
		return len(archived) == 1 && archived[0].ID == d2.ID
	})
	if n, _ := f.counts(d1.ID); n != 1 {
		t.Fatalf("the task sealed under the first key reached Deliver %d times", n)
	}
	if n, abandons := f.counts(d2.ID); n != 0 || abandons != 0 {
		t.Fatalf("the unopenable task reached Deliver %d times, Abandon %d", n, abandons)
	}
	o.Close(t.Context())

	// With the old key listed after the new one, it opens.
	if _, err := inspect.RunAllArchivedTasks(q); err != nil {
		t.Fatal(err)
	}
	o2, err := asynqoutbox.New(asynqoutbox.Options{Redis: c, Keys: rotated, Queue: q, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close(t.Context())
	f2 := newDeliverer(nil)
	if err := o2.Bind(f2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the task sealed under the old key was not delivered after the rotation", func() bool { n, _ := f2.counts(d2.ID); return n == 1 })
}

// The error text asynq keeps with a retrying or archived task names the
// kind of the attempt's error, never its text, which may quote an address.
func TestStoredErrorsQuoteNothing(t *testing.T) {
	c := realRedis(t)
	q := newQueue(t, c)
	o := open(t, c, asynqoutbox.Options{Queue: q, MaxAttempts: 2})
	f := newDeliverer(func(_ context.Context, d recovery.Delivery) error {
		return fmt.Errorf("550 mailbox <%s> of %s unavailable, code %s", d.To, d.Username, d.Code)
	})
	if err := o.Bind(f); err != nil {
		t.Fatal(err)
	}
	d := delivery(0)
	if err := o.Put(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failing delivery was not abandoned", func() bool { _, n := f.counts(d.ID); return n == 1 })
	// Abandon runs inside the last attempt; asynq archives the task once
	// the handler has returned.
	inspect := asynq.NewInspectorFromRedisClient(c)
	var info *asynq.TaskInfo
	eventually(t, "the abandoned task was not archived", func() bool {
		var err error
		info, err = inspect.GetTaskInfo(q, d.ID)
		return err == nil && info.State == asynq.TaskStateArchived
	})
	if info.LastErr == "" {
		t.Fatalf("the abandoned task is archived without an error; want the attempt's error kind")
	}
	for i, b := range rawQueue(t, c, q) {
		for _, secret := range []string{d.To, d.Username, d.Code} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("key %d of the queue holds %q in clear (last error %q)", i, secret, info.LastErr)
			}
		}
	}
}

// A delivered task is kept until its code expires, or for
// Options.Retention if that is shorter.
func TestRetention(t *testing.T) {
	c := realRedis(t)
	inspect := asynq.NewInspectorFromRedisClient(c)
	for _, tc := range []struct {
		retention time.Duration
		want      time.Duration // about
	}{{0, time.Hour}, {5 * time.Minute, 5 * time.Minute}, {2 * time.Hour, time.Hour}} {
		t.Run(tc.retention.String(), func(t *testing.T) {
			q := newQueue(t, c)
			o := open(t, c, asynqoutbox.Options{Queue: q, Retention: tc.retention})
			f := newDeliverer(nil)
			if err := o.Bind(f); err != nil {
				t.Fatal(err)
			}
			d := delivery(0) // expires in an hour
			if err := o.Put(t.Context(), d); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the delivery was not made", func() bool {
				info, err := inspect.GetTaskInfo(q, d.ID)
				return err == nil && info.State == asynq.TaskStateCompleted
			})
			info, err := inspect.GetTaskInfo(q, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if info.Retention < tc.want-5*time.Second || info.Retention > tc.want+5*time.Second {
				t.Fatalf("the delivered task is kept %v, want about %v", info.Retention, tc.want)
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	c := realRedis(b)
	q := newQueue(b, c)
	o := open(b, c, asynqoutbox.Options{Queue: q})
	ctx := context.Background()
	ds := make([]recovery.Delivery, b.N)
	for i := range ds {
		ds[i] = delivery(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := o.Put(ctx, ds[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver measures the workers: b.N deliveries put, then made by
// one process with the default Concurrency and a Deliver that returns at
// once.
func BenchmarkDeliver(b *testing.B) {
	c := realRedis(b)
	q := newQueue(b, c)
	o := open(b, c, asynqoutbox.Options{Queue: q})
	ctx := context.Background()
	for i := range b.N {
		if err := o.Put(ctx, delivery(i)); err != nil {
			b.Fatal(err)
		}
	}
	var done sync.WaitGroup
	done.Add(b.N)
	b.ResetTimer()
	if err := o.Bind(newDeliverer(func(context.Context, recovery.Delivery) error { done.Done(); return nil })); err != nil {
		b.Fatal(err)
	}
	done.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
