package redisstore_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// TestEnumerationTiming: with existence errors prevented and delivery
// asynchronous (a 20 ms sender behind asyncsender), Recover with the Redis
// code store (users in memory) takes as long for a known user as for an
// unknown identifier. Each of the 2000 known users and 2000 unknown names
// is used once (and the first few once more to warm up), so the default
// budget never refuses.
func TestEnumerationTiming(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 2000
	c := realRedis(t)
	prefix := newPrefix()
	deleteOnCleanup(t, c, prefix)
	e, known, unknown := recoverytest.TimingEngine(t, memstore.NewUserStore(), newCodeStore(t, c, prefix), nil, n)
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if err := r.Leak(); err != nil {
		t.Error(err)
	}
}
