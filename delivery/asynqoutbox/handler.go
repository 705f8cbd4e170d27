package asynqoutbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/recoverykit/recoverykit/delivery/internal/sealedjob"
	"github.com/recoverykit/recoverykit/recovery"
)

var (
	// errInterrupted ends an attempt that Close interrupted, or that asynq
	// stopped waiting for: asynq requeues the task, and IsFailure keeps
	// the interruption from counting as an attempt.
	errInterrupted = errors.New("asynqoutbox: the attempt was interrupted; the delivery stays queued")
	// errAttemptsLost is the error a delivery is abandoned with when asynq
	// ended its last attempt before the handler could give it up.
	errAttemptsLost = errors.New("asynqoutbox: the delivery's attempts ran out without an answer")
)

// retryError is the handler's answer for a failed attempt worth repeating.
// asynq stores its text in Redis, so it names the kind of the attempt's
// error, not its text, which may quote an address.
type retryError struct {
	kind string
	wait time.Duration
}

func (e *retryError) Error() string {
	return "asynqoutbox: the attempt failed (" + e.kind + "); retrying"
}

// process is the asynq handler: it opens the sealed delivery, makes one
// attempt, and tells asynq whether to retry. It, not asynq, decides when
// to give up, so that it can call Abandon first.
func (o *Outbox) process(ctx context.Context, t *asynq.Task) error {
	d, err := o.sealer.Open(t.Payload())
	if err != nil {
		// Altered, or sealed under a key no longer listed: no attempt can
		// open it, and without the delivery there is nothing to abandon.
		o.opts.Logger.LogAttrs(ctx, slog.LevelError, "asynqoutbox: a queued delivery cannot be opened; it is archived undelivered",
			slog.String("queue", o.opts.Queue), slog.String("error", err.Error()))
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	limit, _ := asynq.GetMaxRetry(ctx) // Put records MaxAttempts there
	attempt := retried + 1
	if attempt > limit {
		o.abandon(ctx, d, errAttemptsLost)
		return fmt.Errorf("asynqoutbox: delivery %s given up: %w", d.ID, asynq.SkipRetry)
	}
	err = o.attempt(ctx, d)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil || o.stop.Err() != nil:
		return errInterrupted
	}
	p := o.policy
	p.MaxAttempts = limit
	retry, wait := p.Next(d, err, attempt, time.Now())
	if !retry {
		o.abandon(ctx, d, err)
		return fmt.Errorf("asynqoutbox: delivery %s given up after %d attempts (%T): %w", d.ID, attempt, err, asynq.SkipRetry)
	}
	return &retryError{kind: fmt.Sprintf("%T", err), wait: wait}
}

// attempt makes one attempt under AttemptTimeout, interrupted when Close
// gives up waiting.
func (o *Outbox) attempt(ctx context.Context, d recovery.Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, o.opts.AttemptTimeout)
	defer cancel()
	stop := context.AfterFunc(o.stop, cancel)
	defer stop()
	return sealedjob.Attempt(ctx, o.d, d)
}

// abandon gives d up through the engine, which revokes its code, even if
// asynq's context for the task has ended.
func (o *Outbox) abandon(ctx context.Context, d recovery.Delivery, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.opts.AttemptTimeout)
	defer cancel()
	o.d.Abandon(ctx, d, err)
}

// retryDelay is asynq's RetryDelayFunc: the wait the handler chose, none
// after an interruption, and backoff when asynq itself failed the attempt
// (a timeout, a lost lease).
func (o *Outbox) retryDelay(retried int, err error, _ *asynq.Task) time.Duration {
	var r *retryError
	switch {
	case errors.As(err, &r):
		return r.wait
	case errors.Is(err, errInterrupted):
		return 0
	}
	return o.policy.Backoff.Delay(retried+1, -1)
}

// logger hands asynq's log lines to slog. Fatal logs at Error level and
// does not exit: a library must not end the process.
type logger struct{ l *slog.Logger }

func (l logger) Debug(args ...any) { l.log(slog.LevelDebug, args) }
func (l logger) Info(args ...any)  { l.log(slog.LevelInfo, args) }
func (l logger) Warn(args ...any)  { l.log(slog.LevelWarn, args) }
func (l logger) Error(args ...any) { l.log(slog.LevelError, args) }
func (l logger) Fatal(args ...any) { l.log(slog.LevelError, args) }

func (l logger) log(level slog.Level, args []any) {
	ctx := context.Background()
	if l.l.Enabled(ctx, level) {
		l.l.LogAttrs(ctx, level, "asynq: "+fmt.Sprint(args...))
	}
}
