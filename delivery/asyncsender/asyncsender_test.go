package asyncsender_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/recovery"
)

const code = "493817"

func msg(i int) recovery.Message {
	return recovery.Message{
		Pool: "default", ClientID: "web", Medium: recovery.Email, To: fmt.Sprintf("u%d@example.com", i),
		Username: fmt.Sprintf("u%d", i), Sub: fmt.Sprintf("sub-%d", i), Code: code, Text: "code " + code,
	}
}

// events records what an Observer sees.
type events struct {
	mu sync.Mutex
	ev []recovery.Event
}

func (e *events) Observe(_ context.Context, ev recovery.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) all() []recovery.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]recovery.Event(nil), e.ev...)
}

// quiet is a logger that writes into a buffer the test can read.
type quiet struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (q *quiet) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.buf.Write(p)
}

func (q *quiet) String() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.buf.String()
}

func newSender(t *testing.T, next recovery.Sender, opts asyncsender.Options) (*asyncsender.Sender, *quiet) {
	t.Helper()
	logs := &quiet{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	s, err := asyncsender.New(next, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s, logs
}

func closeWithin(t *testing.T, s *asyncsender.Sender, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Close(ctx)
}

func TestSendQueuesAndReturns(t *testing.T) {
	release := make(chan struct{})
	var got atomic.Int64
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		got.Add(1)
		return nil
	})
	s, _ := newSender(t, next, asyncsender.Options{Workers: 2})
	start := time.Now()
	for i := range 10 {
		if err := s.Send(context.Background(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("10 Sends to a blocked sender took %s", d)
	}
	close(release)
	if err := closeWithin(t, s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if got.Load() != 10 || st.Queued != 10 || st.Delivered != 10 || st.InQueue != 0 || st.InFlight != 0 || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("delivered %d; stats %+v", got.Load(), st)
	}
}

func TestQueueFull(t *testing.T) {
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		started <- struct{}{}
		<-release
		return nil
	})
	s, _ := newSender(t, next, asyncsender.Options{Workers: 1, QueueSize: 2})
	if err := s.Send(context.Background(), msg(0)); err != nil {
		t.Fatal(err)
	}
	<-started // the worker holds message 0; the queue is empty
	for i := 1; i <= 2; i++ {
		if err := s.Send(context.Background(), msg(i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	err := s.Send(context.Background(), msg(3))
	if !errors.Is(err, asyncsender.ErrQueueFull) {
		t.Fatalf("Send to a full queue = %v, want ErrQueueFull", err)
	}
	if strings.Contains(err.Error(), code) {
		t.Errorf("the error holds the code: %v", err)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Queued != 3 || st.InQueue != 2 || st.InFlight != 1 {
		t.Errorf("stats %+v", st)
	}
	close(release)
	if err := closeWithin(t, s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Delivered != 3 || st.Rejected != 1 {
		t.Errorf("stats after Close %+v", st)
	}
}

func TestCloseDrains(t *testing.T) {
	var got atomic.Int64
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		got.Add(1)
		return nil
	})
	s, _ := newSender(t, next, asyncsender.Options{Workers: 2})
	for i := range 10 {
		s.Send(context.Background(), msg(i))
	}
	start := time.Now()
	if err := closeWithin(t, s, 5*time.Second); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got.Load() != 10 {
		t.Fatalf("%d of 10 delivered", got.Load())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("draining 10 x 20ms on 2 workers took %s", d)
	}
	if err := s.Send(context.Background(), msg(11)); !errors.Is(err, asyncsender.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := closeWithin(t, s, time.Second); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCloseDeadlineDrops(t *testing.T) {
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		<-ctx.Done() // a server that never answers
		return ctx.Err()
	})
	var obs events
	s, logs := newSender(t, next, asyncsender.Options{Workers: 1, Observer: &obs, AttemptTimeout: time.Hour})
	for i := range 5 {
		s.Send(context.Background(), msg(i))
	}
	start := time.Now()
	err := closeWithin(t, s, 100*time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s past a 100ms deadline", d)
	}
	var de *asyncsender.DroppedError
	if !errors.As(err, &de) || de.Dropped != 5 || !errors.Is(err, asyncsender.ErrDropped) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want 5 dropped", err)
	}
	if st := s.Stats(); st.Dropped != 5 || st.Delivered != 0 || st.Failed != 0 || st.InQueue != 0 || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
	ev := obs.all()
	if len(ev) != 5 {
		t.Fatalf("%d events, want 5", len(ev))
	}
	for _, e := range ev {
		if e.Kind != recovery.EventDeliveryFailed || !errors.Is(e.Err, asyncsender.ErrDropped) || !strings.HasPrefix(e.Sub, "sub-") {
			t.Errorf("event %+v", e)
		}
	}
	if !strings.Contains(logs.String(), "dropped=5") || strings.Contains(logs.String(), code) {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestFailureAfterRetriesReachesObserver(t *testing.T) {
	var calls atomic.Int64
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		calls.Add(1)
		// A careless sender puts the code in its error.
		return fmt.Errorf("relay said no to %s: %s", m.To, m.Code)
	})
	var obs events
	s, logs := newSender(t, next, asyncsender.Options{Observer: &obs, MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	m := msg(1)
	m.Medium = recovery.SMS
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d attempts, want 3", calls.Load())
	}
	if st := s.Stats(); st.Failed != 1 || st.Retries != 2 || st.Delivered != 0 {
		t.Errorf("stats %+v", st)
	}
	ev := obs.all()
	if len(ev) != 1 {
		t.Fatalf("events %+v", ev)
	}
	e := ev[0]
	if e.Kind != recovery.EventDeliveryFailed || e.Operation != recovery.OpForgotPassword || e.PoolID != "default" ||
		e.ClientID != "web" || e.Sub != "sub-1" || e.Medium != recovery.SMS || e.Err == nil || e.Time.IsZero() || e.Duration <= 0 {
		t.Errorf("event %+v", e)
	}
	if strings.Contains(e.Err.Error(), code) || !strings.Contains(e.Err.Error(), "relay said no") {
		t.Errorf("event error %q", e.Err)
	}
	out := logs.String()
	if !strings.Contains(out, "asyncsender: delivery failed") || !strings.Contains(out, "sub=sub-1") || !strings.Contains(out, "attempts=3") {
		t.Errorf("logs:\n%s", out)
	}
	if strings.Contains(out, code) {
		t.Errorf("the code reached the log:\n%s", out)
	}
}

func TestRetryThenDelivered(t *testing.T) {
	var calls atomic.Int64
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		if calls.Add(1) < 3 {
			return errors.New("421 try later")
		}
		return nil
	})
	var obs events
	s, _ := newSender(t, next, asyncsender.Options{Observer: &obs, ReportDelivered: true, BaseDelay: time.Millisecond})
	s.Send(context.Background(), msg(1))
	if err := closeWithin(t, s, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Delivered != 1 || st.Retries != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	if ev := obs.all(); len(ev) != 1 || ev[0].Kind != recovery.EventDelivered || ev[0].Err != nil {
		t.Errorf("events %+v", ev)
	}
}

type permanent struct{}

func (permanent) Error() string   { return "550 no such user" }
func (permanent) Temporary() bool { return false }

func TestNoRetryForPermanentErrors(t *testing.T) {
	for _, fail := range []error{
		fmt.Errorf("wrapped: %w", recovery.ErrDeliveryUnauthorized),
		fmt.Errorf("wrapped: %w", recovery.ErrDeliveryForbidden),
		permanent{},
	} {
		var calls atomic.Int64
		next := recovery.SenderFunc(func(context.Context, recovery.Message) error { calls.Add(1); return fail })
		s, _ := newSender(t, next, asyncsender.Options{BaseDelay: time.Millisecond})
		s.Send(context.Background(), msg(1))
		closeWithin(t, s, 5*time.Second)
		if calls.Load() != 1 || s.Stats().Failed != 1 {
			t.Errorf("%v: %d attempts, stats %+v", fail, calls.Load(), s.Stats())
		}
	}
}

func TestAttemptsOutliveTheRequest(t *testing.T) {
	type seen struct {
		err      error
		deadline time.Duration
	}
	ch := make(chan seen, 1)
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		time.Sleep(20 * time.Millisecond) // the request is over by now
		d, _ := ctx.Deadline()
		ch <- seen{ctx.Err(), time.Until(d)}
		return nil
	})
	s, _ := newSender(t, next, asyncsender.Options{AttemptTimeout: time.Minute})
	reqCtx, cancel := context.WithCancel(context.Background())
	s.Send(reqCtx, msg(1))
	cancel()
	got := <-ch
	if got.err != nil {
		t.Errorf("the attempt's context ended with the request: %v", got.err)
	}
	if got.deadline < 50*time.Second || got.deadline > time.Minute {
		t.Errorf("the attempt's deadline is %s away, want about AttemptTimeout (1m)", got.deadline)
	}
}

func TestPanickingSenderIsContained(t *testing.T) {
	next := recovery.SenderFunc(func(context.Context, recovery.Message) error { panic("boom " + code) })
	var obs events
	s, logs := newSender(t, next, asyncsender.Options{Observer: &obs, MaxAttempts: 1})
	s.Send(context.Background(), msg(1))
	closeWithin(t, s, 5*time.Second)
	if st := s.Stats(); st.Failed != 1 {
		t.Errorf("stats %+v", st)
	}
	if ev := obs.all(); len(ev) != 1 || strings.Contains(ev[0].Err.Error(), code) {
		t.Errorf("events %+v", ev)
	}
	if strings.Contains(logs.String(), code) {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	next := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		select {
		case <-time.After(time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for _, deadline := range []time.Duration{5 * time.Second, time.Millisecond} {
		s, err := asyncsender.New(next, asyncsender.Options{Workers: 8, Logger: slog.New(slog.DiscardHandler), BaseDelay: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			s.Send(context.Background(), msg(i))
		}
		closeWithin(t, s, deadline)
	}
	var now int
	for range 100 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after Close:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

func TestNew(t *testing.T) {
	if _, err := asyncsender.New(nil, asyncsender.Options{}); err == nil || !strings.Contains(err.Error(), "inner sender is nil") {
		t.Errorf("New(nil) = %v", err)
	}
	ok := recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil })
	if _, err := asyncsender.New(ok, asyncsender.Options{Workers: -1, AttemptTimeout: -time.Second}); err == nil ||
		!strings.Contains(err.Error(), "Options.Workers") || !strings.Contains(err.Error(), "Options.AttemptTimeout") {
		t.Errorf("New = %v", err)
	}
}
