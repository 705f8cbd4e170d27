package recoverytest

import (
	"os"
	"testing"
)

// RequireEnv is the one rule for integration tests in this module and in
// adapters built on it: it returns the value of the environment variable that
// points at a service (for example RECOVERY_TEST_POSTGRES). When the variable
// is unset the test is skipped with a message naming it, unless
// RECOVERY_TEST_REQUIRE=1, which CI sets: then a missing service is a
// failure, never a skip. A variable that is set but names a service that does
// not answer is the test's failure to report (t.Fatal), not a skip.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("RECOVERY_TEST_REQUIRE") == "1" {
		t.Fatalf("%s is not set and RECOVERY_TEST_REQUIRE=1: this integration test must run; set %s", name, name)
	}
	t.Skipf("integration test: set %s to run it", name)
	return ""
}
