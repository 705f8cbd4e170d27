// Package riveroutbox is a durable recovery.Outbox on River
// (github.com/riverqueue/river) and Postgres, through pgx v5: a delivery
// put by the engine is a row in River's job table, so it survives a crash
// or a deploy, and any instance's workers send it.
//
// Each job holds the delivery sealed (AES-256-GCM under a key derived from
// the engine's Config.Keys, see Options.Keys), so the job table, its
// backups and River's UI show a message ID and ciphertext, never a code,
// an address or the user's attributes. Errors of failed attempts are
// logged through Options.Logger and never stored in the job row, since a
// mail server's answer may quote the address.
//
// Setup: create River's tables with Migrate (as pgxstore.Migrate creates
// the code store's), then
//
//	outbox, err := riveroutbox.New(pool, riveroutbox.Options{Keys: keys})
//	engine, err := recovery.New(recovery.Config{..., Keys: keys, Outbox: outbox})
//	defer engine.Close(ctx) // drains this instance's deliveries, stops River
//
// recovery.New binds the outbox, which starts River's workers, unless
// Options.InsertOnly is set: then the instance only inserts, for a process
// that takes requests and leaves sending to others. An outbox never bound
// only inserts too. PutTx inserts a delivery inside the caller's
// transaction, so that it is sent only if the transaction commits.
//
// Delivery semantics: each job is unique by its Delivery.ID (a second Put
// of the same delivery is accepted and ignored, for as long as River keeps
// the first job). A failed attempt is retried with backoff while
// recovery.Retryable says so, up to Options.MaxAttempts attempts; then, or
// at once for a permanent failure or a code that expired, the outbox calls
// the engine's Abandon (which revokes the code) and cancels the job. A
// delivery whose code expired before a worker picked it up is still handed
// to Engine.Deliver, which drops it with its own log line and observer
// event.
//
// River records a sent delivery's job as completed in its batches (one
// statement for the jobs finished in each 50 ms). A process killed between
// a send and its batch leaves those jobs running until River rescues them
// (Options.RescueAfter), so their users may then get the message again,
// with the same code; senders receive Message.ID as idempotency key for
// that reason, and a resent code that was used or replaced meanwhile is
// dropped (Engine.Deliver checks a delivery older than
// recovery.StaleDelivery). Completing each job in a transaction of its own
// would narrow that window to the jobs being sent, for two more round
// trips and a commit per delivery: a third of the server's CPU per request
// in examples/loadtest. A job rescued after its last attempt is discarded
// by River without a call to Abandon: its code is not revoked, but nobody
// received it and it expires.
//
// Finished jobs (completed, cancelled) are not deleted at once: River's
// job cleaner removes them after its retention periods (24 hours by
// default), which is also how long uniqueness by Delivery.ID holds. They
// stay sealed meanwhile, and the codes they carry expire long before.
package riveroutbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/delivery/internal/sealedjob"
	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Outbox = (*Outbox)(nil)

// Defaults for Options' zero values.
const (
	DefaultQueue          = "recovery"
	DefaultWorkers        = 16
	DefaultMaxAttempts    = 12
	DefaultAttemptTimeout = 30 * time.Second
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 30 * time.Second
	DefaultPollInterval   = time.Second
	DefaultFetchCooldown  = 10 * time.Millisecond
)

// Kind is the River job kind of a delivery.
const Kind = "recoverykit_delivery"

// Options configure an Outbox. Every zero value but Keys means the default
// documented on its field.
type Options struct {
	// Keys seal the jobs: give the engine's Config.Keys. The first seals
	// new jobs, every one opens jobs sealed under it, so keep a retired key
	// listed until the jobs it sealed are done (a code's lifetime).
	Keys []recovery.Key
	// Schema is the Postgres schema of River's tables; empty means the
	// connection's search_path.
	Schema string
	// Queue is the River queue of the deliveries. Default "recovery".
	Queue string
	// Workers is how many deliveries an instance makes at once. Default 16.
	Workers int
	// MaxAttempts bounds the attempts per delivery, the first included.
	// Default 12: with the default waits (up to 1 s, doubling to 30 s) a
	// mail outage of a minute or two is ridden out, and a delivery whose
	// code expires is given up sooner anyway. Give the sender one attempt of its own
	// (webhooksender.Config{MaxAttempts: 1}), as with asyncsender.
	MaxAttempts int
	// AttemptTimeout bounds each attempt. Default 30 s.
	AttemptTimeout time.Duration
	// BaseDelay and MaxDelay time the retries as in asyncsender: full
	// jitter under BaseDelay·2^(n-1), or the wait a failed attempt's error
	// asks for (RetryAfter), capped by MaxDelay. Defaults 1 s and 30 s.
	BaseDelay, MaxDelay time.Duration
	// PollInterval is how often idle workers look for due jobs beside
	// River's notifications of inserts. Default 1 s.
	PollInterval time.Duration
	// FetchCooldown is the least time between two fetches of jobs by an
	// instance; each fetch takes at most as many jobs as it has idle
	// workers, so an instance makes at most Workers deliveries per
	// FetchCooldown. Default 10 ms (River's own default, 100 ms, would cap
	// 16 workers at 160 deliveries a second).
	FetchCooldown time.Duration
	// RescueAfter is how long a job may stay running before River takes
	// its process for dead and makes it available again (the attempt
	// counts). Default AttemptTimeout + 1 minute; it must exceed
	// AttemptTimeout by more than 5 s. River's leader looks for such jobs
	// every 30 s, and a new process becomes leader up to 15 s after the
	// old one died.
	RescueAfter time.Duration
	// InsertOnly keeps Bind from starting workers: the instance only puts
	// deliveries, for processes that take requests and leave sending to
	// other instances.
	InsertOnly bool
	// Logger receives failed attempts that will be retried, jobs that
	// cannot be opened, and River's own logs. Default slog.Default().
	Logger *slog.Logger
}

// args is a job: the delivery's ID in clear, for uniqueness, and the
// sealed delivery.
type args struct {
	ID     string `json:"id" river:"unique"`
	Sealed []byte `json:"sealed"`
}

// Kind implements river.JobArgs.
func (args) Kind() string { return Kind }

// Outbox is the durable outbox. It is safe for concurrent use. Give it to
// one engine as Config.Outbox and stop it with Engine.Close (or Close).
type Outbox struct {
	pool   *pgxpool.Pool
	opts   Options
	sealer *sealedjob.Sealer
	policy sealedjob.Policy
	client *river.Client[pgx.Tx]
	insert *river.InsertOpts

	mu     sync.RWMutex // guards d and closed; Put holds it for reading
	d      recovery.Deliverer
	closed bool
	unsub  func()

	pmu     sync.Mutex
	pending map[int64]struct{} // jobs put here while bound, not yet seen finished

	delays sync.Map // job ID → the wait the last failed attempt asked for

	batch batcher // Puts outside a caller's transaction, inserted together
}

// ErrClosed is wrapped by Put's error after Close; it wraps
// recovery.ErrOutboxClosed.
var ErrClosed = fmt.Errorf("riveroutbox: %w", recovery.ErrOutboxClosed)

// New checks opts and builds an Outbox on pool. River's tables must exist
// (Migrate). No worker runs until Bind.
func New(pool *pgxpool.Pool, opts Options) (*Outbox, error) {
	if pool == nil {
		return nil, errors.New("riveroutbox: the pool is nil")
	}
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	sealer, err := sealedjob.NewSealer(opts.Keys)
	if err != nil {
		return nil, fmt.Errorf("riveroutbox: Options.Keys: %w", err)
	}
	o := &Outbox{
		pool: pool, opts: opts, sealer: sealer, pending: map[int64]struct{}{},
		policy: sealedjob.Policy{MaxAttempts: opts.MaxAttempts, Backoff: backoff.Policy{Base: opts.BaseDelay, Max: opts.MaxDelay}},
		insert: &river.InsertOpts{
			Queue: opts.Queue, MaxAttempts: opts.MaxAttempts,
			UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates},
		},
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{o: o}); err != nil {
		return nil, fmt.Errorf("riveroutbox: %w", err)
	}
	o.client, err = river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema:            opts.Schema,
		Queues:            map[string]river.QueueConfig{opts.Queue: {MaxWorkers: opts.Workers}},
		Workers:           workers,
		MaxAttempts:       opts.MaxAttempts,
		FetchPollInterval: opts.PollInterval,
		FetchCooldown:     opts.FetchCooldown,
		// Work ends each attempt by AttemptTimeout, so a job running
		// much longer was left by a dead process.
		JobTimeout:           opts.AttemptTimeout + timeoutGrace,
		RescueStuckJobsAfter: opts.RescueAfter,
		Logger:               opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("riveroutbox: %w", err)
	}
	return o, nil
}

// uniqueStates are River's default unique states and the final ones, so
// that an abandoned delivery is not made by a repeated Put either.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	rivertype.JobStateCancelled, rivertype.JobStateDiscarded,
}

func withDefaults(opts Options) (Options, error) {
	var errs []error
	if len(opts.Keys) == 0 {
		errs = append(errs, errors.New("riveroutbox: Options.Keys is empty: give the engine's Config.Keys"))
	}
	for name, v := range map[string]int{"Workers": opts.Workers, "MaxAttempts": opts.MaxAttempts} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("riveroutbox: Options.%s is %d: use a positive number, or 0 for the default", name, v))
		}
	}
	for name, v := range map[string]time.Duration{"AttemptTimeout": opts.AttemptTimeout, "BaseDelay": opts.BaseDelay, "MaxDelay": opts.MaxDelay, "PollInterval": opts.PollInterval, "FetchCooldown": opts.FetchCooldown, "RescueAfter": opts.RescueAfter} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("riveroutbox: Options.%s is %s: use a positive duration, or 0 for the default", name, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return opts, err
	}
	opts.Queue = or(opts.Queue, DefaultQueue)
	opts.Workers = or(opts.Workers, DefaultWorkers)
	opts.MaxAttempts = or(opts.MaxAttempts, DefaultMaxAttempts)
	opts.AttemptTimeout = or(opts.AttemptTimeout, DefaultAttemptTimeout)
	opts.BaseDelay = or(opts.BaseDelay, DefaultBaseDelay)
	opts.MaxDelay = or(opts.MaxDelay, DefaultMaxDelay)
	opts.PollInterval = or(opts.PollInterval, DefaultPollInterval)
	opts.FetchCooldown = or(opts.FetchCooldown, DefaultFetchCooldown)
	opts.RescueAfter = or(opts.RescueAfter, opts.AttemptTimeout+time.Minute)
	if opts.RescueAfter <= opts.AttemptTimeout+timeoutGrace {
		return opts, fmt.Errorf("riveroutbox: Options.RescueAfter (%s) must exceed AttemptTimeout (%s) by more than %s, or a running attempt would be taken for dead", opts.RescueAfter, opts.AttemptTimeout, timeoutGrace)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return opts, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Migrate creates schema if need be and brings River's tables in it to
// the version this package's River needs, through rivermigrate. It is
// idempotent; run it at start-up or deploy, beside pgxstore.Migrate.
// Empty schema means the connection's search_path.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("riveroutbox: creating schema %q: %w", schema, err)
		}
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("riveroutbox: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("riveroutbox: migrating River's tables: %w", err)
	}
	return nil
}
