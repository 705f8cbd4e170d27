package memstore_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// TestEnumerationTiming: with existence errors prevented and delivery
// asynchronous, Recover takes as long for a known user as for an unknown
// identifier.
func TestEnumerationTiming(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 2000
	e, known, unknown := recoverytest.TimingEngine(t, memstore.NewUserStore(), memstore.NewCodeStore(), nil, n)
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if err := r.Leak(); err != nil {
		t.Error(err)
	}
}

// TestEnumerationTimingCatchesSyncSender is the control: with the 20 ms
// sender called synchronously, known users answer 20 ms later, and the
// check says so (few samples suffice, and take 20 ms each).
func TestEnumerationTimingCatchesSyncSender(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 100
	e, known, unknown := recoverytest.TimingEngine(t, memstore.NewUserStore(), memstore.NewCodeStore(), recoverytest.SlowSender, n)
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if r.Leak() == nil {
		t.Errorf("Leak() = nil with a synchronous 20 ms sender (%v): the check cannot fail", r)
	}
	if r.D <= r.Critical {
		t.Errorf("KS D = %.4f is not above its critical value %.4f with a synchronous 20 ms sender", r.D, r.Critical)
	}
}
