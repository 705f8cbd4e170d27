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
	code        recovery.KeyedHash // Hash nil: no current code (none issued, or revoked)
	expires     time.Time
	used        bool
	issues      []time.Time // issues inside the window, oldest first
	misses      []time.Time // failed checks inside the window, oldest first
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

// gate applies the rules every call starts with: the lock, then the
// budgets (the issue budget only for Issue).
func (r *record) gate(now time.Time, l recovery.CodeLimits, issuing bool) recovery.Outcome {
	if !r.lockEnd.IsZero() {
		if now.Before(r.lockEnd) {
			return recovery.OutcomeLocked
		}
		r.lockEnd, r.failures = time.Time{}, 0
	}
	cutoff := now.Add(-l.Window)
	r.issues, r.misses = inWindow(r.issues, cutoff), inWindow(r.misses, cutoff)
	if len(r.misses) >= l.FailureBudget || issuing && len(r.issues) >= l.Budget {
		return recovery.OutcomeLimitExceeded
	}
	return 0
}

// inWindow drops the times at or before cutoff from the front of ts.
func inWindow(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	return ts[i:]
}

// charge appends now to ts, keeping at most limit times.
func charge(ts []time.Time, now time.Time, limit int) []time.Time {
	ts = append(ts, now)
	if len(ts) > limit { // a smaller budget than before
		ts = ts[len(ts)-limit:]
	}
	return ts
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
	if n := len(r.issues); n > 0 {
		later(r.issues[n-1].Add(l.Window))
	}
	if n := len(r.misses); n > 0 {
		later(r.misses[n-1].Add(l.Window))
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
		if out := r.gate(p.Now, p.Limits, true); out != 0 {
			return out
		}
		r.issues = charge(r.issues, p.Now, p.Limits.Budget)
		r.code = recovery.KeyedHash{KeyID: p.Code.KeyID, Hash: hash}
		r.expires, r.used = p.ExpiresAt, false
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
		if out := r.gate(p.Now, p.Limits, false); out != 0 {
			return out
		}
		defer r.setDeadline(p.Limits)
		if r.code.Hash == nil || r.used || !p.Now.Before(r.expires) {
			return recovery.OutcomeExpired
		}
		if r.matches(p.Candidates) {
			if p.Consume {
				r.used = true
				r.failures = 0
			}
			return recovery.OutcomeOK
		}
		r.misses = charge(r.misses, p.Now, p.Limits.FailureBudget)
		r.failures++
		r.lastFailure = p.Now
		if r.failures >= p.Limits.MaxFailures {
			r.lockEnd = p.Now.Add(p.Limits.Cooldown)
		}
		return recovery.OutcomeMismatch
	}), nil
}

// matches reports whether one of cands is the current code: same key ID,
// equal hash. Every candidate is compared.
func (r *record) matches(cands []recovery.KeyedHash) bool {
	match := false
	for _, c := range cands {
		if c.KeyID == r.code.KeyID && equal(c.Hash, r.code.Hash) {
			match = true
		}
	}
	return match
}

// Restore implements recovery.CodeStore.
func (s *CodeStore) Restore(ctx context.Context, p recovery.RestoreParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.with(p.Pool, p.UserKey, p.Now, false, func(r *record) recovery.Outcome {
		if r.code.Hash != nil && r.used && p.Now.Before(r.expires) && r.matches(p.Candidates) {
			r.used = false
		}
		return 0
	})
	return nil
}

// Revoke implements recovery.CodeStore.
func (s *CodeStore) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.with(pool, userKey, time.Time{}, false, func(r *record) recovery.Outcome {
		if r.code.KeyID == code.KeyID && equal(r.code.Hash, code.Hash) {
			r.code, r.used = recovery.KeyedHash{}, false
		}
		return 0
	})
	return nil
}

// Outstanding implements recovery.CodeInspector: it reads the record
// without changing it.
func (s *CodeStore) Outstanding(ctx context.Context, pool, userKey string, code recovery.KeyedHash, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	k := recordKey{pool, userKey}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.recs[k]
	if !ok || !now.Before(r.deadline) || r.code.Hash == nil || r.used || !now.Before(r.expires) {
		return false, nil
	}
	return r.code.KeyID == code.KeyID && equal(r.code.Hash, code.Hash), nil
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
