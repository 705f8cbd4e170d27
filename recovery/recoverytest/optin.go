package recoverytest

import (
	"os"
	"testing"
)

// The variables that switch on the slow and statistical suites. Each takes
// the value "1".
const (
	// EnvFaults enables the fault suites: tests that put a load through
	// the engine while cutting a backend off.
	EnvFaults = "RECOVERY_TEST_FAULTS"
	// EnvTiming enables the long enumeration timing tests, which compare
	// Recover's latency for known and unknown users; their names contain
	// "Enumeration".
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
