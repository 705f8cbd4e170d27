package memstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/faultload"
)

// outage makes calls fail while it is on. Memory has no connection to cut,
// so the outage is simulated: each call during it fails with probability
// rate, half of those before reaching the store (nothing done) and half
// after (done, but the answer lost), as a dropped connection does.
type outage struct {
	on    atomic.Bool
	rate  float64
	fails atomic.Int64
}

var errOutage = errors.New("memstore test: simulated outage")

// around runs call unless the outage drops it first, and reports an error
// if the outage drops it either way.
func (o *outage) around(call func()) error {
	if o.on.Load() {
		switch x := rand.Float64(); {
		case x < o.rate/2:
			o.fails.Add(1)
			return errOutage
		case x < o.rate:
			call()
			o.fails.Add(1)
			return errOutage
		}
	}
	call()
	return nil
}

// flakyCodes is a CodeStore that fails during the outage.
type flakyCodes struct {
	s *CodeStore
	o *outage
}

func (f flakyCodes) Issue(ctx context.Context, p recovery.IssueParams) (out recovery.Outcome, err error) {
	if oerr := f.o.around(func() { out, err = f.s.Issue(ctx, p) }); oerr != nil {
		return 0, oerr
	}
	return out, err
}

func (f flakyCodes) Check(ctx context.Context, p recovery.CheckParams) (out recovery.Outcome, err error) {
	if oerr := f.o.around(func() { out, err = f.s.Check(ctx, p) }); oerr != nil {
		return 0, oerr
	}
	return out, err
}

func (f flakyCodes) Restore(ctx context.Context, p recovery.RestoreParams) (err error) {
	if oerr := f.o.around(func() { err = f.s.Restore(ctx, p) }); oerr != nil {
		return oerr
	}
	return err
}

func (f flakyCodes) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) (err error) {
	if oerr := f.o.around(func() { err = f.s.Revoke(ctx, pool, userKey, code) }); oerr != nil {
		return oerr
	}
	return err
}

// flakyUsers is a UserStore that fails during the outage.
type flakyUsers struct {
	s *UserStore
	o *outage
}

func (f flakyUsers) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (u recovery.User, err error) {
	if oerr := f.o.around(func() { u, err = f.s.FindUser(ctx, pool, q) }); oerr != nil {
		return recovery.User{}, oerr
	}
	return u, err
}

func (f flakyUsers) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) (err error) {
	if oerr := f.o.around(func() { err = f.s.SetPassword(ctx, pool, c) }); oerr != nil {
		return oerr
	}
	return err
}

// budgetEvents reads the issue and failure times of a user's record, for
// faultload.Config.Events.
func (s *CodeStore) budgetEvents(_ context.Context, pool, userKey string) (issues, failures []time.Time, err error) {
	k := recordKey{pool, userKey}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.recs[k]; ok {
		return slices.Clone(r.issues), slices.Clone(r.misses), nil
	}
	return nil, nil, nil
}

// TestFaultLoad runs the fault suite on the memory stores. Its outages are
// simulated (see outage): during each, 30% of the calls of both stores
// fail, half of them after taking effect.
func TestFaultLoad(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	codes, users := NewCodeStore(), NewUserStore()
	o := &outage{rate: 0.3}
	faultload.Run(t, faultload.Config{
		Codes:        flakyCodes{codes, o},
		Users:        flakyUsers{users, o},
		Seed:         users.CreateUser,
		PasswordHash: users.PasswordHash,
		Events:       codes.budgetEvents,
		Cut:          func() { o.on.Store(true) },
		Restore:      func() { o.on.Store(false) },
	})
	t.Logf("%d calls failed by the simulated outages", o.fails.Load())
}
