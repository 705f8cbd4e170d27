package pgxstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.RequestLimiter = (*Limiter)(nil)

// Limiter is a recovery.RequestLimiter on PostgreSQL with sliding windows,
// estimated like memstore.Limiter from two fixed windows aligned to the Unix
// epoch: the previous window's count weighted by the share of it the sliding
// window still covers, plus the current window's count. It never allows
// more than Limit requests of a key in one fixed window, and spreads a burst
// at a window's edge over the next one.
//
// One row per (pool, key) in recovery_limits; Allow is one statement (the
// PL/pgSQL function recovery_allow) that locks the rows of all the request's
// keys, in sorted order so that concurrent requests cannot deadlock, and
// charges all of them or none. A counter expires once the window after the
// one it last counted has passed; a new counter row deletes up to two
// expired ones, and SweepExpired deletes them in bulk. It is safe for
// concurrent use. Create it with NewLimiter.
type Limiter struct {
	db    DBTX
	allow string
	sweep string
}

// NewLimiter returns a limiter that runs its statements on db in the schema
// of opts, which Migrate must have prepared.
func NewLimiter(db DBTX, opts Options) (*Limiter, error) {
	opts, err := prepare("NewLimiter", db, opts)
	if err != nil {
		return nil, err
	}
	return &Limiter{db: db, allow: query("limit_allow", opts.Schema), sweep: query("limit_sweep", opts.Schema)}, nil
}

// Allow implements recovery.RequestLimiter with one statement. A key listed
// twice is charged once, at the rate given first.
func (l *Limiter) Allow(ctx context.Context, r recovery.LimitRequest) (bool, error) {
	keys := slices.Clone(r.Keys)
	slices.SortStableFunc(keys, func(a, b recovery.LimitKey) int { return cmp.Compare(a.Key, b.Key) })
	keys = slices.CompactFunc(keys, func(a, b recovery.LimitKey) bool { return a.Key == b.Key })
	names := make([]string, len(keys))
	limits := make([]int32, len(keys))
	windows := make([]int64, len(keys))
	for i, k := range keys {
		names[i] = k.Key
		limits[i] = int32(min(k.Rate.Limit, 1<<31-1))
		windows[i] = max(k.Rate.Window.Milliseconds(), 1)
	}
	var ok bool
	if err := queryRow(ctx, l.db, l.allow, []any{r.Pool, names, limits, windows, r.Now.UnixMilli()}, &ok); err != nil {
		return false, interpretError(ctx, "Allow", err)
	}
	return ok, nil
}

// SweepExpired deletes up to limit (limit <= 0: all) counters that expired
// at or before now, oldest first, and returns how many it deleted. Calling
// it is optional: new counters already reclaim expired ones.
func (l *Limiter) SweepExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	var lim any
	if limit > 0 {
		lim = int64(limit)
	}
	tag, err := exec(ctx, l.db, l.sweep, now, lim)
	if err != nil {
		return 0, interpretError(ctx, "Limiter.SweepExpired", err)
	}
	return int(tag.RowsAffected()), nil
}
