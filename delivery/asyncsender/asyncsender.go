// Package asyncsender wraps a recovery.Sender so that Send only queues the
// message and returns at once; a fixed pool of workers delivers it in the
// background, with retries.
//
// This keeps the mail server's latency out of ForgotPassword's answer, so a
// request for a real user takes as long as one for an unknown user (whose
// answer is simulated and sends nothing): without it, response times tell
// an attacker which accounts exist. The price is that a delivery failure
// can no longer reach the caller as CodeDeliveryFailureException; it is
// reported to Options.Observer as a recovery.EventDeliveryFailed event and
// logged instead. A full queue is still reported at once: Send returns an
// error wrapping ErrQueueFull, which the engine answers with
// CodeDeliveryFailureException.
//
// Workers never use the request's context, which ends with the request:
// each attempt gets Options.AttemptTimeout from a context that lives until
// Close gives up. Close stops accepting messages, lets the workers drain
// the queue until its context ends, and reports what was left undelivered.
//
// Queued messages hold codes in memory until delivered; they are never
// logged (see recovery.Message's LogValue), and are lost if the process
// dies. Wrap a sender that already retries (webhooksender) with
// Options.MaxAttempts 1, or give that sender MaxAttempts 1, so that
// retries do not multiply.
package asyncsender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Sender = (*Sender)(nil)

var (
	// ErrQueueFull is wrapped by Send's error when the queue has no room.
	ErrQueueFull = errors.New("asyncsender: queue full")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("asyncsender: sender is closed")
	// ErrDropped is the error of the EventDeliveryFailed event reported for
	// a message that Close left undelivered.
	ErrDropped = errors.New("asyncsender: message dropped undelivered at shutdown")
)

// Defaults for Options' zero values.
const (
	DefaultQueueSize      = 1024
	DefaultWorkers        = 4
	DefaultMaxAttempts    = 3
	DefaultAttemptTimeout = 30 * time.Second
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 30 * time.Second
)

// Options configure a Sender. Every zero value means the default documented
// on its field.
type Options struct {
	// QueueSize is how many messages may wait; Send fails with
	// ErrQueueFull beyond it. Default 1024.
	QueueSize int
	// Workers is how many messages are delivered at once. Default 4.
	Workers int
	// MaxAttempts bounds the attempts per message, the first included; 1
	// means no retry. Default 3.
	MaxAttempts int
	// AttemptTimeout bounds each attempt. Default 30 s.
	AttemptTimeout time.Duration
	// BaseDelay is the wait before the second attempt; it doubles for each
	// later one, and each wait is drawn uniformly from zero to that value
	// (full jitter). A worker waits with its message, so long delays slow
	// the queue. Default 1 s.
	BaseDelay time.Duration
	// MaxDelay caps each wait. Default 30 s.
	MaxDelay time.Duration
	// Retryable says whether a failed attempt is worth repeating. Default
	// DefaultRetryable.
	Retryable func(error) bool

	// Observer, when set, receives an EventDeliveryFailed event for every
	// message given up on (failed after its attempts, or dropped by Close)
	// and, with ReportDelivered, an EventDelivered event for every message
	// delivered. Events carry the message's pool, client, sub and medium,
	// the time it was queued and how long it waited; never the code.
	// Observer is called from the workers and must be safe for concurrent
	// use; its panics are contained.
	Observer recovery.Observer
	// ReportDelivered makes the Observer see successful deliveries too.
	// Off by default: the engine already reports EventDelivered when Send
	// queues the message, so an Observer shared with the engine would count
	// each message twice.
	ReportDelivered bool
	// Logger receives a Warn line for every message given up on (with its
	// sub, never its code) and one for the messages Close dropped. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for events. Default time.Now.
	Now func() time.Time
}

// DefaultRetryable retries every error except a misconfiguration
// (recovery.ErrDeliveryUnauthorized, recovery.ErrDeliveryForbidden) and an
// error that reports Temporary() == false, as smtpsender's and
// webhooksender's errors do for permanent failures.
func DefaultRetryable(err error) bool {
	if errors.Is(err, recovery.ErrDeliveryUnauthorized) || errors.Is(err, recovery.ErrDeliveryForbidden) {
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return true
}

// Stats are the Sender's counters since New.
type Stats struct {
	// Queued counts messages accepted by Send.
	Queued uint64
	// Delivered counts messages the inner sender accepted.
	Delivered uint64
	// Failed counts messages given up on after their attempts.
	Failed uint64
	// Rejected counts Sends refused because the queue was full.
	Rejected uint64
	// Dropped counts accepted messages Close left undelivered.
	Dropped uint64
	// Retries counts attempts after the first.
	Retries uint64
	// InQueue is how many messages wait now.
	InQueue int
	// InFlight is how many messages workers hold now (sending or waiting
	// to retry).
	InFlight int
}

type job struct {
	m      recovery.Message
	queued time.Time
}

// Sender queues messages for a pool of workers. It is safe for concurrent
// use. Build it with New and stop it with Close.
type Sender struct {
	next recovery.Sender
	opts Options

	mu     sync.RWMutex // guards closed against the close of queue
	closed bool
	queue  chan job

	base      context.Context // ends when Close gives up waiting
	abort     context.CancelFunc
	closeOnce sync.Once
	done      chan struct{} // closed when every worker has returned

	queued, delivered, failed, rejected, dropped, retries atomic.Uint64
	inFlight                                              atomic.Int64
}

// New starts Options.Workers workers delivering through next. Call Close
// to stop them.
func New(next recovery.Sender, opts Options) (*Sender, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("asyncsender: "+format, args...)) }
	if next == nil {
		add("the inner sender is nil: pass the Sender that delivers (smtpsender, webhooksender)")
	}
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
		opts.Retryable = DefaultRetryable
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	s := &Sender{next: next, opts: opts, queue: make(chan job, opts.QueueSize), done: make(chan struct{})}
	s.base, s.abort = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(s.work)
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Send queues m and returns nil at once, or an error wrapping ErrQueueFull
// when the queue is full, or ErrClosed after Close. It does not keep ctx:
// delivery happens after the request has ended.
func (s *Sender) Send(_ context.Context, m recovery.Message) error {
	m.ClientMetadata = maps.Clone(m.ClientMetadata) // the caller may reuse its map
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.queue <- job{m: m, queued: s.opts.Now()}:
		s.queued.Add(1)
		return nil
	default:
		s.rejected.Add(1)
		return fmt.Errorf("%w: %d messages are waiting; raise Options.QueueSize or Workers, or check the inner sender", ErrQueueFull, cap(s.queue))
	}
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Queued: s.queued.Load(), Delivered: s.delivered.Load(), Failed: s.failed.Load(),
		Rejected: s.rejected.Load(), Dropped: s.dropped.Load(), Retries: s.retries.Load(),
		InQueue: len(s.queue), InFlight: int(s.inFlight.Load()),
	}
}

// DroppedError is Close's error when messages were left undelivered.
type DroppedError struct {
	// Dropped is how many accepted messages were never delivered.
	Dropped uint64
	// Err is the context's error that ended the drain.
	Err error
}

// Error says how many messages were dropped.
func (e *DroppedError) Error() string {
	return fmt.Sprintf("asyncsender: closed with %d messages undelivered: %v", e.Dropped, e.Err)
}

// Unwrap returns ErrDropped and the context's error.
func (e *DroppedError) Unwrap() []error { return []error{ErrDropped, e.Err} }

// Close stops accepting messages and waits for the workers to deliver what
// is queued. When ctx ends first, it cancels the attempts in progress,
// drops every message not yet delivered, and returns a *DroppedError
// saying how many (also in Stats().Dropped); each dropped message is
// reported to the Observer. Close returns only after every worker has
// stopped, which needs the inner sender to honour its context. Calling
// Close again waits the same way and returns the same kind of answer.
func (s *Sender) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
	})
	select {
	case <-s.done:
	case <-ctx.Done():
		s.abort()
		<-s.done
	}
	s.abort() // releases the base context
	if n := s.dropped.Load(); n > 0 {
		err := ctx.Err()
		if err == nil {
			err = context.Canceled
		}
		s.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "asyncsender: closed with messages undelivered", slog.Uint64("dropped", n))
		return &DroppedError{Dropped: n, Err: err}
	}
	return nil
}

func (s *Sender) work() {
	for j := range s.queue {
		s.deliver(j)
	}
}

// deliver tries one message until it is delivered, given up on, or the
// Sender is aborted.
func (s *Sender) deliver(j job) {
	if s.base.Err() != nil {
		s.drop(j)
		return
	}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	var err error
	attempt := 1
	for ; ; attempt++ {
		err = s.try(j.m)
		if err == nil {
			s.delivered.Add(1)
			if s.opts.ReportDelivered {
				s.observe(j, recovery.EventDelivered, nil)
			}
			return
		}
		if s.base.Err() != nil {
			s.drop(j)
			return
		}
		if attempt >= s.opts.MaxAttempts || !s.opts.Retryable(err) {
			break
		}
		s.retries.Add(1)
		if !s.wait(s.backoff(attempt)) {
			s.drop(j)
			return
		}
	}
	s.failed.Add(1)
	err = redact(err, j.m.Code)
	s.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "asyncsender: delivery failed",
		slog.String("pool", j.m.Pool), slog.String("client_id", j.m.ClientID), slog.String("sub", j.m.Sub),
		slog.String("medium", string(j.m.Medium)), slog.Int("attempts", attempt), slog.String("error", err.Error()))
	s.observe(j, recovery.EventDeliveryFailed, err)
}

// try makes one attempt under its own timeout, containing a panic of the
// inner sender.
func (s *Sender) try(m recovery.Message) (err error) {
	ctx, cancel := context.WithTimeout(s.base, s.opts.AttemptTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("asyncsender: the inner sender %T panicked", s.next)
		}
	}()
	return s.next.Send(ctx, m)
}

func (s *Sender) backoff(attempt int) time.Duration {
	ceiling := s.opts.MaxDelay
	if attempt-1 < 40 {
		ceiling = min(s.opts.BaseDelay<<(attempt-1), s.opts.MaxDelay)
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// wait sleeps for d; it returns false when the Sender is aborted first.
func (s *Sender) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.base.Done():
		return false
	}
}

func (s *Sender) drop(j job) {
	s.dropped.Add(1)
	s.observe(j, recovery.EventDeliveryFailed, ErrDropped)
}

func (s *Sender) observe(j job, kind recovery.EventKind, err error) {
	if s.opts.Observer == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.LogAttrs(context.Background(), slog.LevelError, "asyncsender: observer panicked")
		}
	}()
	s.opts.Observer.Observe(context.Background(), recovery.Event{
		Kind: kind, Operation: recovery.OpForgotPassword,
		PoolID: j.m.Pool, ClientID: j.m.ClientID, Sub: j.m.Sub, Medium: j.m.Medium,
		Err: err, Time: j.queued, Duration: s.opts.Now().Sub(j.queued),
	})
}

// redact returns err with its text cleared of code, in case the inner
// sender put it there; errors.Is and errors.As still see err.
func redact(err error, code string) error {
	if code == "" || !strings.Contains(err.Error(), code) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), code, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

// Error returns the redacted text.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }
