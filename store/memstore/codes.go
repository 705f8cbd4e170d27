// Package memstore holds in-memory implementations of the recovery store
// interfaces: a CodeStore, a UserStore and a RequestLimiter. They are correct
// under concurrency and reclaim what has expired, so they suit tests,
// examples and single-process services that accept losing state on restart.
package memstore

import (
	"context"
	"crypto/subtle"
	"hash/maphash"
	"sync"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.CodeStore      = (*CodeStore)(nil)
	_ recovery.ExpiredSweeper = (*CodeStore)(nil)
)

// shards spreads users over independent locks so parallel requests for
// different users do not contend.
const shards = 64

// sweepEvery is how many calls a shard takes between sweeps of its expired
// records; it bounds memory to what the last few thousand calls left behind
// plus what is still live.
const sweepEvery = 1024

// CodeStore is an in-memory recovery.CodeStore. Each call is one critical
// section on the user's shard. The zero value is not usable; call
// NewCodeStore.
type CodeStore struct {
	seed   maphash.Seed
	shards [shards]codeShard
}

type codeShard struct {
	mu    sync.Mutex
	recs  map[recordKey]*record
	calls int
}

type recordKey struct{ pool, user string }

// record is the per-user state of recovery.CodeStore's contract.
type record struct {
	code        recovery.KeyedHash // Hash nil: no current code
	expires     time.Time
	events      []time.Time // budget events inside the window, oldest first
	failures    int
	lastFailure time.Time
	lockEnd     time.Time
	deadline    time.Time // when every part above has lapsed
}

// NewCodeStore returns an empty store.
func NewCodeStore() *CodeStore {
	s := &CodeStore{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].recs = make(map[recordKey]*record)
	}
	return s
}

func (s *CodeStore) shard(k recordKey) *codeShard {
	return &s.shards[maphash.String(s.seed, k.user)%shards]
}

// with runs fn on the user's record inside the shard's lock, creating the
// record when create is set, and drops the record if fn leaves it empty.
// A record whose deadline has passed counts as absent whether or not a sweep
// has removed it yet, so what a call sees (the failure streak, say) never
// depends on when the shard last swept.
func (s *CodeStore) with(pool, user string, now time.Time, create bool, fn func(r *record) recovery.Outcome) recovery.Outcome {
	k := recordKey{pool, user}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.calls++; sh.calls%sweepEvery == 0 {
		sh.sweep(now, 0, nil)
	}
	r, ok := sh.recs[k]
	if !ok || !now.Before(r.deadline) {
		r = &record{}
	}
	out := fn(r)
	if !now.Before(r.deadline) {
		delete(sh.recs, k)
	} else if ok || create {
		sh.recs[k] = r
	}
	return out
}

// gate applies the rules every call starts with: the lock, then the budget.
func (r *record) gate(now time.Time, l recovery.CodeLimits) recovery.Outcome {
	if !r.lockEnd.IsZero() {
		if now.Before(r.lockEnd) {
			return recovery.OutcomeLocked
		}
		r.lockEnd, r.failures = time.Time{}, 0
	}
	cutoff := now.Add(-l.Window)
	i := 0
	for i < len(r.events) && !r.events[i].After(cutoff) {
		i++
	}
	r.events = r.events[i:]
	if len(r.events) >= l.Budget {
		return recovery.OutcomeLimitExceeded
	}
	return 0
}

func (r *record) charge(now time.Time, l recovery.CodeLimits) {
	r.events = append(r.events, now)
	if len(r.events) > l.Budget { // a smaller budget than before
		r.events = r.events[len(r.events)-l.Budget:]
	}
}

// setDeadline records when r can be forgotten: after its code expired, its
// latest event left the window, its lock ended and Cooldown passed since its
// latest failure (so the failure streak survives pauses shorter than that).
func (r *record) setDeadline(l recovery.CodeLimits) {
	d := r.lockEnd
	later := func(t time.Time) {
		if t.After(d) {
			d = t
		}
	}
	if r.code.Hash != nil {
		later(r.expires)
	}
	if n := len(r.events); n > 0 {
		later(r.events[n-1].Add(l.Window))
	}
	if r.failures > 0 {
		later(r.lastFailure.Add(l.Cooldown))
	}
	r.deadline = d
}

// Issue implements recovery.CodeStore.
func (s *CodeStore) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	hash := append([]byte(nil), p.Code.Hash...)
	return s.with(p.Pool, p.UserKey, p.Now, true, func(r *record) recovery.Outcome {
		if out := r.gate(p.Now, p.Limits); out != 0 {
			return out
		}
		r.charge(p.Now, p.Limits)
		r.code = recovery.KeyedHash{KeyID: p.Code.KeyID, Hash: hash}
		r.expires = p.ExpiresAt
		r.setDeadline(p.Limits)
		return recovery.OutcomeOK
	}), nil
}

// Check implements recovery.CodeStore.
func (s *CodeStore) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.with(p.Pool, p.UserKey, p.Now, false, func(r *record) recovery.Outcome {
		if out := r.gate(p.Now, p.Limits); out != 0 {
			return out
		}
		defer r.setDeadline(p.Limits)
		if r.code.Hash == nil || !p.Now.Before(r.expires) {
			r.code = recovery.KeyedHash{}
			return recovery.OutcomeExpired
		}
		for _, c := range p.Candidates {
			if c.KeyID == r.code.KeyID && equal(c.Hash, r.code.Hash) {
				if p.Consume {
					r.code = recovery.KeyedHash{}
					r.failures = 0
				}
				return recovery.OutcomeOK
			}
		}
		r.charge(p.Now, p.Limits)
		r.failures++
		r.lastFailure = p.Now
		if r.failures >= p.Limits.MaxFailures {
			r.lockEnd = p.Now.Add(p.Limits.Cooldown)
		}
		return recovery.OutcomeMismatch
	}), nil
}

// Revoke implements recovery.CodeStore.
func (s *CodeStore) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.with(pool, userKey, time.Time{}, false, func(r *record) recovery.Outcome {
		if r.code.KeyID == code.KeyID && equal(r.code.Hash, code.Hash) {
			r.code = recovery.KeyedHash{}
		}
		return 0
	})
	return nil
}

// equal compares hashes in constant time; a variable so a test can prove
// every comparison goes through it.
var equal = func(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// sweep removes the shard's records whose deadline is at or before now, at
// most limit of them (0: no limit), and counts them into removed.
func (sh *codeShard) sweep(now time.Time, limit int, removed *int) {
	n := 0
	for k, r := range sh.recs {
		if limit > 0 && n >= limit {
			break
		}
		if !now.Before(r.deadline) {
			delete(sh.recs, k)
			n++
		}
	}
	if removed != nil {
		*removed += n
	}
}

// SweepExpired implements recovery.ExpiredSweeper. The store also sweeps by
// itself every 1024 calls per shard, so calling it is optional.
func (s *CodeStore) SweepExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	removed := 0
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.sweep(now, limit-removed, &removed)
		sh.mu.Unlock()
		if limit > 0 && removed >= limit {
			break
		}
	}
	return removed, nil
}

// Len returns how many records the store holds (live or not yet swept), for
// tests that check memory stays bounded.
func (s *CodeStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.recs)
		sh.mu.Unlock()
	}
	return n
}
