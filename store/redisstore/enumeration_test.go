package redisstore_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/timingcheck"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// redisStores: users in memory, codes on the real Redis under a fresh
// prefix.
func redisStores(t *testing.T) (recovery.UserStore, recovery.CodeStore, func()) {
	c := realRedis(t)
	prefix := newPrefix()
	deleteOnCleanup(t, c, prefix)
	return memstore.NewUserStore(), newCodeStore(t, c, prefix), nil
}

// TestEnumerationTiming: for a client that hides user existence, Recover
// with the Redis code store takes as long for a known user as for an
// unknown identifier, whether the mail server is slow, a custom-message
// hook is slow, or the mail server fails; delivering on the request path
// shows the leak. A short run; RECOVERY_TEST_TIMING=1 runs 2000 samples.
func TestEnumerationTiming(t *testing.T) {
	timingcheck.Check(t, redisStores, 300)
}

func TestEnumerationTimingLong(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	timingcheck.Check(t, redisStores, 2000)
}
