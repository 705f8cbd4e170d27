package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is the base instant of every subtest: fixed, with a millisecond part,
// and unrelated to the wall clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC).Truncate(time.Millisecond)

// concurrencyTimeout bounds each concurrency subtest, so a networked store
// that deadlocks fails the subtest instead of hanging the run.
const concurrencyTimeout = 30 * time.Second

// at is t0+d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// rel describes an instant relative to t0 for failure messages.
func rel(t time.Time) string {
	d := t.Sub(t0)
	if d < 0 {
		return "t0-" + (-d).String()
	}
	return "t0+" + d.String()
}

// subtestName is the last element of t.Name(), for keys that differ from
// one subtest to the next.
func subtestName(t *testing.T) string {
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// concurrently runs f(ctx, i) for i in [0, n) on n goroutines that start
// together behind a barrier, and returns the results in order. A panic in f
// is reported as an error of that call instead of crashing the test binary.
func concurrently[R any](t *testing.T, n int, f func(ctx context.Context, i int) (R, error)) ([]R, []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), concurrencyTimeout)
	defer cancel()
	results := make([]R, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			<-start
			results[i], errs[i] = f(ctx, i)
		}()
	}
	close(start)
	wg.Wait()
	if ctx.Err() != nil {
		t.Errorf("the %d concurrent calls did not finish within %v", n, concurrencyTimeout)
	}
	return results, errs
}

// reportErrors reports the distinct errors of concurrent calls, at most a
// few of them, and whether there were any.
func reportErrors(t *testing.T, what string, errs []error) bool {
	t.Helper()
	n := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		if n < 3 {
			t.Errorf("%s, call %d: error %v", what, i, err)
		}
		n++
	}
	if n > 3 {
		t.Errorf("%s: %d more calls returned errors", what, n-3)
	}
	return n > 0
}

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// callCancelled runs f, which makes one call with a cancelled context, and
// checks that it neither panicked nor returned an error other than one
// wrapping context.Canceled. It reports whether the call returned nil, so
// the caller can check that a call that did complete completed correctly.
func callCancelled(t *testing.T, what string, f func() error) (completed bool) {
	t.Helper()
	var err error
	panicked := func() (p any) {
		defer func() { p = recover() }()
		err = f()
		return nil
	}()
	switch {
	case panicked != nil:
		t.Errorf("%s with a cancelled context panicked: %v", what, panicked)
		return false
	case err == nil:
		return true
	case !errors.Is(err, context.Canceled):
		t.Errorf("%s with a cancelled context: error %v, want nil or an error wrapping context.Canceled", what, err)
	}
	return false
}
