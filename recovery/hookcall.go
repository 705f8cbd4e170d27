package recovery

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// errHookPanicked and errHookTimeout are causes of UnexpectedLambdaException.
var (
	errHookPanicked = errors.New("recovery: hook panicked")
	errHookTimeout  = errors.New("recovery: hook did not answer in time")
)

// callHook runs fn with a deadline, in its own goroutine so that a hook that
// ignores its context cannot hold the request past the timeout, and with its
// panics recovered so that it cannot crash the host. The goroutine of a hook
// that overruns is abandoned; its context is cancelled and its result, if it
// ever comes, is dropped.
func callHook[T any](ctx context.Context, timeout time.Duration, trigger string, fn func(context.Context) (T, error)) (T, error) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned hook never blocks
	go func() {
		defer func() {
			if p := recover(); p != nil {
				// The panic value is left out (it could hold anything); the
				// stack says where it happened.
				done <- result{err: fmt.Errorf("%w at:\n%s", errHookPanicked, debug.Stack())}
			}
		}()
		v, err := fn(hctx)
		done <- result{v: v, err: err}
	}()
	var zero T
	select {
	case r := <-done:
		if r.err != nil {
			return zero, hookError(trigger, r.err, ctx)
		}
		return r.v, nil
	case <-hctx.Done():
		if ctx.Err() != nil {
			return zero, internalError(ctx.Err())
		}
		return zero, hookError(trigger, errHookTimeout, ctx)
	}
}

// hookError maps what a hook returned to Cognito's names (see Hooks).
func hookError(trigger string, err error, ctx context.Context) error {
	var rej *Rejection
	var e *Error
	switch {
	case errors.As(err, &rej):
		return &Error{Name: UserLambdaValidationException, Message: fmt.Sprintf("%s failed with error %s.", trigger, rej.Message), cause: err}
	case errors.Is(err, ErrBlocked):
		return wrapError(ErrForbidden, err)
	case errors.As(err, &e) && (e.Name == InvalidLambdaResponseException || e.Name == UnexpectedLambdaException || e.Name == UserLambdaValidationException):
		// A hook adapter (an HTTP trigger, say) already chose the mapping.
		return e
	case ctx.Err() != nil:
		return internalError(ctx.Err())
	}
	return &Error{Name: UnexpectedLambdaException, Message: fmt.Sprintf("%s invocation failed.", trigger), cause: err}
}

func invalidHookResponse(trigger, why string) error {
	return wrapError(ErrInvalidLambdaResponse, fmt.Errorf("recovery: %s: %s", trigger, why))
}
