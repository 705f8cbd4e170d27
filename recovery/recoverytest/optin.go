package recoverytest

import (
	"os"
	"sync"
	"testing"
	"time"
)

// The variables that switch on the slow and statistical suites. Each takes
// the value "1".
const (
	// EnvFaults enables the fault suites: tests that run FaultLoad while
	// cutting a backend off.
	EnvFaults = "RECOVERY_TEST_FAULTS"
	// EnvTiming enables the enumeration timing tests (EnumerationTiming),
	// whose names contain "Enumeration".
	EnvTiming = "RECOVERY_TEST_TIMING"
)

// OptIn skips the test unless the environment variable name is "1", with a
// message that names it and says what the test is. Call it first, before
// the test starts servers or opens connections. Unlike RequireEnv, it is
// not affected by RECOVERY_TEST_REQUIRE: these suites take seconds to
// minutes or measure timing, so they run only where they are asked for
// (CI sets EnvFaults, for instance), and a test gated by both calls OptIn
// first and RequireEnv second.
func OptIn(t testing.TB, name, what string) {
	t.Helper()
	if os.Getenv(name) != "1" {
		t.Skipf("%s: set %s=1 to run it", what, name)
	}
}

// Repeatedly returns a FaultConfig.Cut and Restore for an outage made of
// one action repeated: cut calls act at once and then every interval, on a
// goroutine of its own, until restore stops it; restore returns once the
// last call of act has ended. It suits faults the client recovers from by
// itself, such as terminating the store's PostgreSQL backends
// (pg_terminate_backend) or killing its Redis connections (CLIENT KILL):
// while the outage lasts, every connection the client opens again is cut
// within interval. act runs on another goroutine than the test's, so it
// reports problems with t.Error, never t.Fatal.
func Repeatedly(interval time.Duration, act func()) (cut, restore func()) {
	var (
		mu   sync.Mutex
		stop chan struct{}
		done chan struct{}
	)
	cut = func() {
		mu.Lock()
		defer mu.Unlock()
		if stop != nil {
			return
		}
		stop, done = make(chan struct{}), make(chan struct{})
		go func(stop, done chan struct{}) {
			defer close(done)
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				act()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}(stop, done)
	}
	restore = func() {
		mu.Lock()
		defer mu.Unlock()
		if stop == nil {
			return
		}
		close(stop)
		<-done
		stop, done = nil, nil
	}
	return cut, restore
}
