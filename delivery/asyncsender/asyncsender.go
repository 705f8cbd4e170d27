// Package asyncsender is a recovery.Outbox in memory: a bounded queue and a
// fixed pool of workers that compose and send each delivery through the
// engine, retrying failed attempts with backoff.
//
// The engine puts a delivery (or, for an identifier that matches nobody, a
// decoy) into the queue and answers at once, so the custom-message hook,
// rendering and the mail server's latency never reach the caller: a request
// for a real user takes as long as one for an unknown identifier. A
// delivery failure reaches the Observer and the log (through the engine's
// Abandon), never the caller.
//
//	queue, err := asyncsender.New(asyncsender.Options{Workers: 16})
//	engine, err := recovery.New(recovery.Config{..., Sender: smtp, Outbox: queue})
//	defer engine.Close(ctx) // drains the queue
//
// Workers never use the request's context, which ends with the request:
// each attempt gets Options.AttemptTimeout from a context that lives until
// Close gives up. Close stops accepting deliveries, lets the workers drain
// the queue until its context ends, and abandons what is left.
//
// Queued deliveries hold codes in memory and are lost if the process dies;
// a durable outbox keeps them across restarts.
//
// Retry in one place, and with this queue that place is the queue. Each of
// its attempts is one whole Send, so a sender that retries on its own
// multiplies the attempts: webhooksender's default 3 behind the default
// Options.MaxAttempts 3 make up to 9 requests per delivery. Give such a
// sender one attempt (webhooksender.Config{MaxAttempts: 1}) and keep the
// retries here, where each attempt goes back through the engine (which
// drops a delivery whose code expired in the meantime), gets a full
// AttemptTimeout, and is counted in Stats.Retries; a receiver's
// Retry-After still sets the wait (see Options.BaseDelay). smtpsender
// makes one attempt per Send and needs no change. Without this package,
// the engine's default outbox makes one attempt per delivery and leaves
// retrying to the sender, so keep webhooksender's own retries there.
//
// Sizing: a queue absorbs a burst as long as the workers keep up on
// average. Workers deliver Workers / (mean delivery time) messages a
// second (16 workers and a 10 ms mail server: 1,600/s); set Workers so
// that this exceeds the peak rate of real requests, and QueueSize to the
// number of requests in the longest burst (or outage) you want to ride out.
package asyncsender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Outbox = (*Queue)(nil)

var (
	// ErrQueueFull is wrapped by Put's error when the queue has no room.
	ErrQueueFull = errors.New("asyncsender: queue full")
	// ErrClosed is returned by Put after Close.
	ErrClosed = errors.New("asyncsender: queue is closed")
	// ErrDropped is the error a delivery that Close left undelivered is
	// abandoned with.
	ErrDropped = errors.New("asyncsender: delivery dropped undelivered at shutdown")
)

// Defaults for Options' zero values.
const (
	DefaultQueueSize      = 8192
	DefaultWorkers        = 16
	DefaultMaxAttempts    = 3
	DefaultAttemptTimeout = 30 * time.Second
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 30 * time.Second
)

// Options configure a Queue. Every zero value means the default documented
// on its field.
type Options struct {
	// QueueSize is how many deliveries may wait; Put fails with
	// ErrQueueFull beyond it. Default 8192.
	QueueSize int
	// Workers is how many deliveries are made at once. Default 16.
	Workers int
	// MaxAttempts bounds the attempts per delivery, the first included; 1
	// means no retry. Default 3. The queue is meant to be the only layer
	// that retries: give the sender one attempt of its own (see the
	// package documentation).
	MaxAttempts int
	// AttemptTimeout bounds each attempt. Default 30 s.
	AttemptTimeout time.Duration
	// BaseDelay is the wait before the second attempt; it doubles for each
	// later one, and each wait is drawn uniformly from zero to that value
	// (full jitter). When the failed attempt's error has a RetryAfter()
	// (time.Duration, bool) method that reports a wait, as
	// webhooksender.Error does for a receiver's Retry-After header, that
	// wait is used instead. A worker waits with its delivery, so long
	// delays slow the queue. Default 1 s.
	BaseDelay time.Duration
	// MaxDelay caps each wait, a requested one included. Default 30 s.
	MaxDelay time.Duration
	// Retryable says whether a failed attempt is worth repeating. Default
	// recovery.Retryable.
	Retryable func(error) bool
	// Logger receives one Warn line when Close leaves deliveries undelivered
	// (each one is also abandoned through the engine, which logs it).
	// Default slog.Default().
	Logger *slog.Logger
}

// Stats are the Queue's counters since New.
type Stats struct {
	// Queued counts deliveries accepted by Put, decoys included.
	Queued uint64
	// Delivered counts deliveries the engine completed (sent, or dropped
	// as a decoy or expired).
	Delivered uint64
	// Failed counts deliveries given up on after their attempts.
	Failed uint64
	// Rejected counts Puts refused because the queue was full.
	Rejected uint64
	// Dropped counts accepted deliveries Close left undelivered.
	Dropped uint64
	// Retries counts attempts after the first.
	Retries uint64
	// InQueue is how many deliveries wait now.
	InQueue int
	// InFlight is how many deliveries workers hold now (sending or waiting
	// to retry).
	InFlight int
}

// Queue is the in-memory outbox. It is safe for concurrent use. Build it
// with New, give it to one engine as Config.Outbox, and stop it with
// Engine.Close (or Close).
type Queue struct {
	opts    Options
	backoff backoff.Policy
	d       recovery.Deliverer

	mu     sync.RWMutex // guards closed against the close of queue
	closed bool
	queue  chan recovery.Delivery

	base      context.Context // ends when Close gives up waiting
	abort     context.CancelFunc
	closeOnce sync.Once
	done      chan struct{} // closed when every worker has returned

	queued, delivered, failed, rejected, dropped, retries atomic.Uint64
	inFlight                                              atomic.Int64
}

// New checks opts and returns a Queue. Its workers start when an engine
// binds it (recovery.New does).
func New(opts Options) (*Queue, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("asyncsender: "+format, args...)) }
	for _, f := range []struct {
		name string
		v    int
		def  int
	}{{"QueueSize", opts.QueueSize, DefaultQueueSize}, {"Workers", opts.Workers, DefaultWorkers}, {"MaxAttempts", opts.MaxAttempts, DefaultMaxAttempts}} {
		if f.v < 0 {
			add("Options.%s is %d: use a positive number, or 0 for %d", f.name, f.v, f.def)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"AttemptTimeout", opts.AttemptTimeout}, {"BaseDelay", opts.BaseDelay}, {"MaxDelay", opts.MaxDelay}} {
		if f.v < 0 {
			add("Options.%s is %s: use a positive duration, or 0 for the default", f.name, f.v)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	opts.QueueSize = or(opts.QueueSize, DefaultQueueSize)
	opts.Workers = or(opts.Workers, DefaultWorkers)
	opts.MaxAttempts = or(opts.MaxAttempts, DefaultMaxAttempts)
	opts.AttemptTimeout = or(opts.AttemptTimeout, DefaultAttemptTimeout)
	opts.BaseDelay = or(opts.BaseDelay, DefaultBaseDelay)
	opts.MaxDelay = or(opts.MaxDelay, DefaultMaxDelay)
	if opts.Retryable == nil {
		opts.Retryable = recovery.Retryable
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	q := &Queue{
		opts: opts, backoff: backoff.Policy{Base: opts.BaseDelay, Max: opts.MaxDelay},
		queue: make(chan recovery.Delivery, opts.QueueSize), done: make(chan struct{}),
	}
	q.base, q.abort = context.WithCancel(context.Background())
	return q, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Bind implements recovery.Outbox: it starts the workers, which deliver
// through d. A Queue serves one engine.
func (q *Queue) Bind(d recovery.Deliverer) error {
	if d == nil {
		return errors.New("asyncsender: Bind: the deliverer is nil")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.d != nil {
		return errors.New("asyncsender: the queue is bound to an engine already: give each engine its own Queue")
	}
	q.d = d
	var wg sync.WaitGroup
	for range q.opts.Workers {
		wg.Go(q.work)
	}
	go func() {
		wg.Wait()
		close(q.done)
	}()
	return nil
}

// Put implements recovery.Outbox: it queues d and returns nil at once, or
// an error wrapping ErrQueueFull when the queue is full, or ErrClosed after
// Close. It does not keep ctx: delivery happens after the request ended.
func (q *Queue) Put(_ context.Context, d recovery.Delivery) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	switch {
	case q.closed:
		return ErrClosed
	case q.d == nil:
		return errors.New("asyncsender: the queue is not bound: give it to recovery.New as Config.Outbox")
	}
	select {
	case q.queue <- d:
		q.queued.Add(1)
		return nil
	default:
		q.rejected.Add(1)
		return fmt.Errorf("%w: %d deliveries are waiting; raise Options.QueueSize or Workers, or check the sender", ErrQueueFull, cap(q.queue))
	}
}

// Stats returns the counters.
func (q *Queue) Stats() Stats {
	return Stats{
		Queued: q.queued.Load(), Delivered: q.delivered.Load(), Failed: q.failed.Load(),
		Rejected: q.rejected.Load(), Dropped: q.dropped.Load(), Retries: q.retries.Load(),
		InQueue: len(q.queue), InFlight: int(q.inFlight.Load()),
	}
}

// DroppedError is Close's error when deliveries were left undelivered.
type DroppedError struct {
	// Dropped is how many accepted deliveries were never made.
	Dropped uint64
	// Err is the context's error that ended the drain.
	Err error
}

// Error says how many deliveries were dropped.
func (e *DroppedError) Error() string {
	return fmt.Sprintf("asyncsender: closed with %d deliveries undelivered: %v", e.Dropped, e.Err)
}

// Unwrap returns ErrDropped and the context's error.
func (e *DroppedError) Unwrap() []error { return []error{ErrDropped, e.Err} }

// Close stops accepting deliveries and waits for the workers to make what
// is queued. When ctx ends first, it cancels the attempts in progress,
// abandons every delivery not yet made, and returns a *DroppedError saying
// how many (also in Stats().Dropped). Close returns only after every worker
// has stopped, which needs the sender to honour its context. Calling Close
// again waits the same way and returns the same kind of answer.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		close(q.queue)
		if q.d == nil { // never bound: no worker will close done
			close(q.done)
		}
		q.mu.Unlock()
	})
	select {
	case <-q.done:
	case <-ctx.Done():
		q.abort()
		<-q.done
	}
	q.abort() // releases the base context
	if n := q.dropped.Load(); n > 0 {
		err := ctx.Err()
		if err == nil {
			err = context.Canceled
		}
		q.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "asyncsender: closed with deliveries undelivered", slog.Uint64("dropped", n))
		return &DroppedError{Dropped: n, Err: err}
	}
	return nil
}

func (q *Queue) work() {
	for d := range q.queue {
		q.deliver(d)
	}
}

// deliver tries one delivery until it is made, given up on, or the Queue is
// aborted.
func (q *Queue) deliver(d recovery.Delivery) {
	if q.base.Err() != nil {
		q.drop(d)
		return
	}
	q.inFlight.Add(1)
	defer q.inFlight.Add(-1)
	var err error
	for attempt := 1; ; attempt++ {
		if err = q.try(d); err == nil {
			q.delivered.Add(1)
			return
		}
		if q.base.Err() != nil {
			q.drop(d)
			return
		}
		if attempt >= q.opts.MaxAttempts || !q.opts.Retryable(err) {
			break
		}
		q.retries.Add(1)
		wait := q.backoff.Delay(attempt, retryAfter(err))
		if backoff.Sleep(q.base, wait) != nil { // Close gave up waiting
			q.drop(d)
			return
		}
	}
	q.failed.Add(1)
	q.d.Abandon(context.Background(), d, err)
}

// try makes one attempt under its own timeout, containing a panic of the
// sender or a hook.
func (q *Queue) try(d recovery.Delivery) (err error) {
	ctx, cancel := context.WithTimeout(q.base, q.opts.AttemptTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("asyncsender: the delivery panicked")
		}
	}()
	return q.d.Deliver(ctx, d)
}

// retryAfter is the wait a failed attempt's error asks for, such as the
// Retry-After of a webhook receiver (webhooksender.Error.RetryAfter), or -1
// when it asks for none.
func retryAfter(err error) time.Duration {
	var asks interface{ RetryAfter() (time.Duration, bool) }
	if errors.As(err, &asks) {
		if d, ok := asks.RetryAfter(); ok {
			return d
		}
	}
	return -1
}

func (q *Queue) drop(d recovery.Delivery) {
	q.dropped.Add(1)
	q.d.Abandon(context.Background(), d, ErrDropped)
}
