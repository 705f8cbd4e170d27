package riveroutbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/recoverykit/recoverykit/delivery/internal/sealedjob"
)

// errAttempt is what River records for a failed attempt: the real error
// goes to the log and to Abandon, never into the job row, since a mail
// server's answer may quote the address.
var errAttempt = errors.New("riveroutbox: the delivery attempt failed; see the application's log")

// errUnopenable is what River records for a job that cannot be opened.
var errUnopenable = errors.New("riveroutbox: the job cannot be opened with Options.Keys")

// worker makes the deliveries; its retry timing and attempt bound are the
// Outbox's, not River's.
type worker struct {
	river.WorkerDefaults[args]
	o *Outbox
}

// timeoutGrace is how much longer than Options.AttemptTimeout River lets a
// job run: Work ends the attempt itself, and River's deadline only catches
// a sender that ignores its context.
const timeoutGrace = 5 * time.Second

// Timeout is River's deadline for a job. It must be set (not -1): River's
// rescuer never rescues a job without one, and a job left running by a
// killed process would then never be made.
func (w *worker) Timeout(*river.Job[args]) time.Duration {
	return w.o.opts.AttemptTimeout + timeoutGrace
}

// NextRetry is the wait Work decided on when the attempt failed.
func (w *worker) NextRetry(job *river.Job[args]) time.Time {
	if v, ok := w.o.delays.LoadAndDelete(job.ID); ok {
		return time.Now().Add(v.(time.Duration))
	}
	return time.Now().Add(w.o.policy.Backoff.Delay(job.Attempt, -1))
}

// Work makes one attempt at a delivery.
func (w *worker) Work(ctx context.Context, job *river.Job[args]) error {
	o := w.o
	log := o.opts.Logger.With(slog.Int64("job_id", job.ID), slog.String("message_id", job.Args.ID))
	d, err := o.sealer.Open(job.Args.Sealed)
	if err != nil {
		// Nothing to abandon: without the delivery, the engine could not
		// revoke the code; it expires unused.
		log.LogAttrs(ctx, slog.LevelError, "riveroutbox: a job cannot be opened; it is cancelled", slog.String("error", err.Error()))
		return river.JobCancel(errUnopenable)
	}
	o.mu.RLock()
	dl := o.d
	o.mu.RUnlock()
	attemptCtx, cancel := context.WithTimeout(ctx, o.opts.AttemptTimeout)
	err = sealedjob.Attempt(attemptCtx, dl, d)
	cancel()
	if err == nil {
		return nil // River records the completion, in batches
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// River is stopping: this attempt does not count, and the next
		// instance makes the delivery.
		return river.JobSnooze(0)
	}
	retry, wait := o.policy.Next(d, err, job.Attempt, time.Now())
	if !retry {
		dl.Abandon(context.WithoutCancel(ctx), d, err)
		return river.JobCancel(errAttempt)
	}
	log.LogAttrs(ctx, slog.LevelWarn, "riveroutbox: delivery attempt failed, will retry",
		slog.Int("attempt", job.Attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
	o.delays.Store(job.ID, wait)
	return errAttempt
}
