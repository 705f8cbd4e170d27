package memstore_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/timingcheck"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func memStores(t *testing.T) (recovery.UserStore, recovery.CodeStore, func()) {
	return memstore.NewUserStore(), memstore.NewCodeStore(), nil
}

// TestEnumerationTiming: for a client that hides user existence, Recover
// takes as long for a known user as for an unknown identifier, whether the
// mail server is slow, a custom-message hook is slow, or the mail server
// fails; delivering on the request path shows the leak. A short run here;
// RECOVERY_TEST_TIMING=1 runs thousands of samples.
func TestEnumerationTiming(t *testing.T) {
	timingcheck.Check(t, memStores, 300)
}

func TestEnumerationTimingLong(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	timingcheck.Check(t, memStores, 3000)
}
