// Package asynqoutbox is a durable recovery.Outbox on asynq
// (github.com/hibiken/asynq): deliveries wait in Redis, sealed, until a
// worker of this process or of any other process serving the same queue
// hands them to the engine, so a code issued just before a crash or a
// deploy is still sent.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	outbox, err := asynqoutbox.New(asynqoutbox.Options{Redis: rdb, Keys: keys})
//	engine, err := recovery.New(recovery.Config{..., Keys: keys, Outbox: outbox})
//	defer engine.Close(ctx) // drains the queue, then stops the workers
//
// Each delivery is one asynq task of type TaskType in Options.Queue. Its
// payload is the delivery sealed with AES-256-GCM under a key derived from
// the first of Options.Keys (give it the engine's Config.Keys), so Redis,
// its replicas, backups and asynq's web UI see a message ID and ciphertext,
// never a code, an address, a username or an attribute. Any of the keys
// opens a task, so tasks queued before a key rotation are still delivered
// while the old key is listed after the new one. Error messages asynq
// stores with a task say which kind of error an attempt met, never its
// text, which may quote an address.
//
// The task's ID is the Delivery.ID, so a second Put of the same delivery
// is accepted without a second delivery: a delivered task is kept, sealed,
// until the delivery's code expires (asynq's Retention; see
// Options.Retention for the memory this takes), and then deleted.
// A task given up on (see below) is archived, sealed, by asynq, which
// deletes archived tasks after 90 days or beyond 10,000 of them; its code
// was revoked when it was abandoned.
//
// Workers start when the engine binds the outbox (recovery.New does); an
// outbox never bound only enqueues. Each attempt gets
// Options.AttemptTimeout. A failed attempt is retried, with exponential
// backoff and full jitter (a receiver's Retry-After is honoured), while
// recovery.Retryable says so, up to Options.MaxAttempts attempts; then, or
// at once for an error that is not retryable, the engine's Abandon is
// called once, which revokes the code. A delivery whose code has expired is
// still handed to the engine, which drops it and reports it, and is not
// retried.
//
// asynq delivers at least once: a task whose process dies mid-attempt is
// tried again once its lease has expired (asynq finds it within about a
// minute and a half), so a message may, rarely, be sent twice. Senders get
// the Delivery.ID as Message.ID, their idempotency key.
//
// Close stops accepting deliveries, waits until the queue holds nothing
// waiting, in progress or due for a retry (whichever process put it), then
// stops the workers. When its context ends first, attempts in progress
// are interrupted and everything left stays in Redis, for this process's
// next start or another process, without counting as a failed attempt.
// Where several processes serve one queue and the others keep putting,
// the queue may never be empty: give Close the deadline you are willing to
// wait, and read its error as "the queue was not empty", not as a loss.
//
// asynq keeps a queue's keys under asynq:{<queue>}: (one Cluster hash
// slot) and lists the queue in asynq:queues; asynq's CLI and web UI
// (asynqmon) show the tasks, and no more than the message IDs.
package asynqoutbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/delivery/internal/sealedjob"
	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Outbox = (*Outbox)(nil)

// TaskType is the asynq type name of a delivery task.
const TaskType = "recoverykit:delivery"

// Defaults for Options' zero values.
const (
	DefaultQueue          = "recovery"
	DefaultConcurrency    = 16
	DefaultMaxAttempts    = 12
	DefaultAttemptTimeout = 30 * time.Second
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 30 * time.Second
	DefaultPollInterval   = time.Second
)

// ErrClosed is wrapped by Put's error after Close; it wraps
// recovery.ErrOutboxClosed.
var ErrClosed = fmt.Errorf("asynqoutbox: %w", recovery.ErrOutboxClosed)

// Options configure an Outbox. Every zero value but Redis's and Keys' means
// the default documented on its field.
type Options struct {
	// Redis is the go-redis client the queue lives in: a *redis.Client, a
	// *redis.ClusterClient (every key of a queue shares one hash slot) or a
	// failover client. Required. The outbox never closes it, so it can be
	// the client the rest of the service (redisstore, say) uses; close it
	// after Engine.Close.
	Redis redis.UniversalClient
	// Keys seal the queued deliveries: give the engine's Config.Keys. The
	// first seals; each opens what was sealed under it. Required.
	Keys []recovery.Key
	// Queue is the asynq queue's name; every process of one service uses
	// the same. Default "recovery".
	Queue string
	// Concurrency is how many deliveries this process makes at once.
	// Default 16.
	Concurrency int
	// MaxAttempts bounds the attempts per delivery, the first included; 1
	// means no retry. Default 12: with the default waits (up to 1 s,
	// doubling to 30 s) a mail outage of a minute or two is ridden out, and
	// a delivery whose code expires is given up sooner anyway. It is
	// recorded with each task when put.
	// Give the sender one attempt of its own
	// (webhooksender.Config{MaxAttempts: 1}) and retry here.
	MaxAttempts int
	// AttemptTimeout bounds each attempt. Default 30 s.
	AttemptTimeout time.Duration
	// BaseDelay is the ceiling of the wait before the second attempt; it
	// doubles for each later one, and each wait is drawn from zero to it.
	// A Retry-After the failed attempt's error reports is used instead.
	// Default 1 s.
	BaseDelay time.Duration
	// MaxDelay caps each wait. Default 30 s.
	MaxDelay time.Duration
	// PollInterval is how often an idle worker pool looks for deliveries,
	// and how often retries that are due are moved back to the queue: a
	// delivery put while the queue was idle waits up to this long. Default
	// 1 s.
	PollInterval time.Duration
	// Retention bounds how long a delivered task stays in Redis, sealed,
	// keeping its ID taken so that a repeated Put of it is not delivered
	// again. Default (and upper bound): until the delivery's code expires,
	// after which a repeated Put would only be dropped. Each kept task
	// takes about 1.7 KB of Redis memory, decoys included: 100 requests a
	// second with a one-hour code lifetime keep about 600 MB. A shorter
	// Retention saves that memory at the cost of delivering again a Put
	// repeated after it.
	Retention time.Duration
	// Retryable says whether a failed attempt is worth repeating. Default
	// recovery.Retryable.
	Retryable func(error) bool
	// Logger receives asynq's warnings and errors and the outbox's own.
	// Default slog.Default().
	Logger *slog.Logger
}

// Outbox is the asynq outbox. It is safe for concurrent use. Build it with
// New, give it to one engine as Config.Outbox, and stop it with
// Engine.Close (or Close).
type Outbox struct {
	opts    Options
	sealer  *sealedjob.Sealer
	policy  sealedjob.Policy
	client  *asynq.Client
	inspect *asynq.Inspector
	srv     *asynq.Server
	timeout time.Duration // asynq's own bound on a task's run, past AttemptTimeout

	mu     sync.RWMutex
	d      recovery.Deliverer
	closed bool

	stop      context.Context // ends when Close gives up waiting
	interrupt context.CancelFunc
	closeOnce sync.Once
	done      chan struct{} // closed when the workers have stopped
}

// New checks opts and returns an Outbox. Its workers start when an engine
// binds it (recovery.New does).
func New(opts Options) (*Outbox, error) {
	if err := check(opts); err != nil {
		return nil, err
	}
	opts = withDefaults(opts)
	sealer, err := sealedjob.NewSealer(opts.Keys)
	if err != nil {
		return nil, fmt.Errorf("asynqoutbox: Options.Keys: %w", err)
	}
	o := &Outbox{
		opts: opts, sealer: sealer,
		policy: sealedjob.Policy{
			MaxAttempts: opts.MaxAttempts, Retryable: opts.Retryable,
			Backoff: backoff.Policy{Base: opts.BaseDelay, Max: opts.MaxDelay},
		},
		client:  asynq.NewClientFromRedisClient(opts.Redis),
		inspect: asynq.NewInspectorFromRedisClient(opts.Redis),
		// The attempt's own timeout, and the Abandon after it (bounded
		// alike), come first; asynq counts whole seconds.
		timeout: (2*opts.AttemptTimeout + 5*time.Second).Truncate(time.Second) + time.Second,
		done:    make(chan struct{}),
	}
	o.stop, o.interrupt = context.WithCancel(context.Background())
	o.srv = asynq.NewServerFromRedisClient(opts.Redis, asynq.Config{
		Concurrency:              opts.Concurrency,
		Queues:                   map[string]int{opts.Queue: 1},
		TaskCheckInterval:        opts.PollInterval,
		DelayedTaskCheckInterval: opts.PollInterval,
		RetryDelayFunc:           o.retryDelay,
		IsFailure:                func(err error) bool { return !errors.Is(err, errInterrupted) },
		ShutdownTimeout:          o.timeout,
		Logger:                   logger{opts.Logger},
		LogLevel:                 asynq.WarnLevel,
	})
	return o, nil
}

// check reports every invalid option at once.
func check(opts Options) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("asynqoutbox: "+format, args...)) }
	if opts.Redis == nil {
		add("Options.Redis is nil: give the go-redis client of the Redis to queue in")
	}
	if len(opts.Keys) == 0 {
		add("Options.Keys is empty: give the engine's Config.Keys, which seal the queued deliveries")
	}
	if q := opts.Queue; q != "" && (strings.TrimSpace(q) != q || strings.ContainsAny(q, "{} \t\r\n")) {
		add("Options.Queue %q: use a name without spaces or braces", q)
	}
	for _, f := range []struct {
		name   string
		v, def int
	}{{"Concurrency", opts.Concurrency, DefaultConcurrency}, {"MaxAttempts", opts.MaxAttempts, DefaultMaxAttempts}} {
		if f.v < 0 {
			add("Options.%s is %d: use a positive number, or 0 for %d", f.name, f.v, f.def)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"AttemptTimeout", opts.AttemptTimeout}, {"BaseDelay", opts.BaseDelay}, {"MaxDelay", opts.MaxDelay}, {"PollInterval", opts.PollInterval}, {"Retention", opts.Retention}} {
		if f.v < 0 {
			add("Options.%s is %s: use a positive duration, or 0 for the default", f.name, f.v)
		}
	}
	return errors.Join(errs...)
}

func withDefaults(opts Options) Options {
	opts.Queue = or(opts.Queue, DefaultQueue)
	opts.Concurrency = or(opts.Concurrency, DefaultConcurrency)
	opts.MaxAttempts = or(opts.MaxAttempts, DefaultMaxAttempts)
	opts.AttemptTimeout = or(opts.AttemptTimeout, DefaultAttemptTimeout)
	opts.BaseDelay = or(opts.BaseDelay, DefaultBaseDelay)
	opts.MaxDelay = or(opts.MaxDelay, DefaultMaxDelay)
	opts.PollInterval = or(opts.PollInterval, DefaultPollInterval)
	if opts.Retryable == nil {
		opts.Retryable = recovery.Retryable
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return opts
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Bind implements recovery.Outbox: it starts this process's workers, which
// deliver through d. An Outbox serves one engine.
func (o *Outbox) Bind(d recovery.Deliverer) error {
	if d == nil {
		return errors.New("asynqoutbox: Bind: the deliverer is nil")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return ErrClosed
	case o.d != nil:
		return errors.New("asynqoutbox: the outbox is bound to an engine already: give each engine its own Outbox")
	}
	o.d = d // before Start, whose workers read it
	if err := o.srv.Start(asynq.HandlerFunc(o.process)); err != nil {
		o.d = nil
		return fmt.Errorf("asynqoutbox: starting the workers: %w", err)
	}
	return nil
}

// Put implements recovery.Outbox: it seals d and enqueues it, within ctx.
// A delivery whose ID was put before is accepted and not queued again.
// After Close it returns an error wrapping ErrClosed. It works before
// Bind: the delivery waits for a bound outbox.
func (o *Outbox) Put(ctx context.Context, d recovery.Delivery) error {
	o.mu.RLock()
	closed := o.closed
	o.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	sealed, err := o.sealer.Seal(d)
	if err != nil {
		return fmt.Errorf("asynqoutbox: %w", err)
	}
	task := asynq.NewTask(TaskType, sealed,
		asynq.TaskID(d.ID), asynq.Queue(o.opts.Queue),
		// One retry more than the attempts: the handler, not asynq, decides
		// when to give up, so that Abandon is never skipped.
		asynq.MaxRetry(o.opts.MaxAttempts),
		asynq.Timeout(o.timeout),
		asynq.Retention(o.retention(d, time.Now())))
	_, err = o.client.EnqueueContext(ctx, task)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return nil // put before: queued, in progress or delivered
	case err != nil:
		return fmt.Errorf("asynqoutbox: queueing delivery %s: %w", d.ID, err)
	}
	return nil
}

// retention is how long a delivered task is kept: until its code expires,
// so that its ID stays taken while a repeated Put could still deliver it,
// or Options.Retention if shorter.
func (o *Outbox) retention(d recovery.Delivery, now time.Time) time.Duration {
	keep := recovery.DefaultCodeLifetime
	if !d.ExpiresAt.IsZero() {
		keep = d.ExpiresAt.Sub(now)
	}
	if o.opts.Retention > 0 {
		keep = min(keep, o.opts.Retention)
	}
	// asynq counts whole seconds, and 0 would mean "delete at once".
	return max(keep.Truncate(time.Second)+time.Second, time.Second)
}

// Close stops accepting deliveries, waits until the queue holds nothing
// waiting, in progress or due for a retry, and stops the workers. When ctx
// ends first, it interrupts the attempts in progress and returns an error
// wrapping ctx's; what is left stays queued, neither abandoned nor counted
// as failed. Close returns only after the workers have stopped, which
// needs the sender to honour its context. Calling Close again waits the
// same way.
func (o *Outbox) Close(ctx context.Context) error {
	o.closeOnce.Do(func() {
		o.mu.Lock()
		o.closed = true
		bound := o.d != nil
		o.mu.Unlock()
		go func() {
			if bound {
				o.drain(o.stop)
				o.srv.Shutdown()
			}
			close(o.done)
		}()
	})
	select {
	case <-o.done:
		o.interrupt()
		return nil
	case <-ctx.Done():
		o.interrupt()
		<-o.done
		return fmt.Errorf("asynqoutbox: closing before the queue was drained: %w", ctx.Err())
	}
}

// drain waits until the queue holds no task that is waiting, in progress or
// due for a retry, or until ctx ends.
func (o *Outbox) drain(ctx context.Context) {
	t := time.NewTicker(min(o.opts.PollInterval, 100*time.Millisecond))
	defer t.Stop()
	for {
		info, err := o.inspect.GetQueueInfo(o.opts.Queue)
		switch {
		case err == nil && info.Pending+info.Active+info.Retry+info.Scheduled == 0:
			return
		case err != nil && !o.queueListed():
			return // nothing was ever queued
		case err != nil:
			o.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "asynqoutbox: reading the queue's size while closing", slog.String("queue", o.opts.Queue), slog.String("error", err.Error()))
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// queueListed reports whether asynq lists the queue, which it does from the
// first task put in it on; true when that cannot be read.
func (o *Outbox) queueListed() bool {
	queues, err := o.inspect.Queues()
	return err != nil || slices.Contains(queues, o.opts.Queue)
}
