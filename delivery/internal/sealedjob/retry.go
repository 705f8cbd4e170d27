package sealedjob

import (
	"context"
	"errors"
	"time"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/recovery"
)

// ErrPanicked is the error of an attempt whose Deliver panicked (a sender
// or a hook); the panic's value is left out, since it may hold the code.
var ErrPanicked = errors.New("sealedjob: the delivery panicked")

// Attempt makes one delivery attempt through dl, turning a panic into
// ErrPanicked so that one bad delivery does not take a worker down.
func Attempt(ctx context.Context, dl recovery.Deliverer, d recovery.Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = ErrPanicked
		}
	}()
	return dl.Deliver(ctx, d)
}

// Policy is the retry rule of the durable outboxes, so that both decide
// alike.
type Policy struct {
	// MaxAttempts bounds the attempts per delivery, the first included.
	MaxAttempts int
	// Retryable says whether a failed attempt is worth repeating; nil
	// means recovery.Retryable.
	Retryable func(error) bool
	// Backoff times the waits between attempts.
	Backoff backoff.Policy
}

// Next decides, after attempt (1-based) of d failed with err at now,
// whether to try again and after what wait. It gives up when the attempts
// are used up, when err is not retryable, and when d's code has expired:
// Engine.Deliver would only drop it, so another attempt is pointless.
func (p Policy) Next(d recovery.Delivery, err error, attempt int, now time.Time) (retry bool, wait time.Duration) {
	retryable := p.Retryable
	if retryable == nil {
		retryable = recovery.Retryable
	}
	switch {
	case attempt >= p.MaxAttempts, !retryable(err), Expired(d, now):
		return false, 0
	}
	return true, p.Backoff.Delay(attempt, RetryAfter(err))
}

// Expired reports whether d's code has expired at now. A delivery without
// an expiry never does.
func Expired(d recovery.Delivery, now time.Time) bool {
	return !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt)
}

// RetryAfter is the wait a failed attempt's error asks for, such as the
// Retry-After of a webhook receiver (webhooksender.Error.RetryAfter), or -1
// when it asks for none.
func RetryAfter(err error) time.Duration {
	var asks interface{ RetryAfter() (time.Duration, bool) }
	if errors.As(err, &asks) {
		if d, ok := asks.RetryAfter(); ok {
			return d
		}
	}
	return -1
}
