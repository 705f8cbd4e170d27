package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// failureCounter counts failed sign-ins per user (by sub) or unknown
// username (by a keyed hash of it) in fixed windows that start at the
// first failure. It lives with the users, so instances on one database or
// Redis share the counts.
type failureCounter interface {
	// Failures returns the failures counted for key in its current window.
	Failures(ctx context.Context, pool, key string, now time.Time) (int, error)
	// Fail counts one failure for key, opening a window when none is open.
	Fail(ctx context.Context, pool, key string, now time.Time, window time.Duration) error
	// Reset forgets key's failures, after a successful sign-in.
	Reset(ctx context.Context, pool, key string) error
}

// memoryFailures is the counter of -store memory.
type memoryFailures struct {
	mu      sync.Mutex
	m       map[string]failureWindow
	sweepAt int // sweep lapsed windows when the map reaches this size
}

type failureWindow struct {
	n    int
	ends time.Time
}

func newMemoryFailures() *memoryFailures {
	return &memoryFailures{m: map[string]failureWindow{}, sweepAt: 1024}
}

func (f *memoryFailures) Failures(_ context.Context, pool, key string, now time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.m[pool+"\x00"+key]; ok && now.Before(w.ends) {
		return w.n, nil
	}
	return 0, nil
}

func (f *memoryFailures) Fail(_ context.Context, pool, key string, now time.Time, window time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := pool + "\x00" + key
	w, ok := f.m[k]
	if !ok || !now.Before(w.ends) {
		w = failureWindow{ends: now.Add(window)}
	}
	w.n++
	f.m[k] = w
	if len(f.m) >= f.sweepAt { // memory stays bounded by the open windows
		for k, w := range f.m {
			if !now.Before(w.ends) {
				delete(f.m, k)
			}
		}
		f.sweepAt = max(1024, 2*len(f.m))
	}
	return nil
}

func (f *memoryFailures) Reset(_ context.Context, pool, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, pool+"\x00"+key)
	return nil
}

// redisFailures is the counter of -store redis: one integer key per
// window, <prefix>signin:<pool>:<key>, whose TTL (Redis's clock) ends it.
type redisFailures struct {
	c      redis.UniversalClient
	prefix string
}

func (r *redisFailures) key(pool, key string) string {
	return r.prefix + "signin:" + url.QueryEscape(pool) + ":" + key
}

func (r *redisFailures) Failures(ctx context.Context, pool, key string, _ time.Time) (int, error) {
	n, err := r.c.Get(ctx, r.key(pool, key)).Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis: reading sign-in failures: %w", err)
	}
	return n, nil
}

func (r *redisFailures) Fail(ctx context.Context, pool, key string, _ time.Time, window time.Duration) error {
	k := r.key(pool, key)
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, k, 0, window) // opens the window; INCR keeps its TTL
		p.Incr(ctx, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: counting a sign-in failure: %w", err)
	}
	return nil
}

func (r *redisFailures) Reset(ctx context.Context, pool, key string) error {
	if err := r.c.Del(ctx, r.key(pool, key)).Err(); err != nil {
		return fmt.Errorf("redis: resetting sign-in failures: %w", err)
	}
	return nil
}

// failuresTable is the table of -store postgres, in -postgres-schema.
const failuresTable = "recovery_server_sign_in_failures"

// postgresFailures is the counter of -store postgres: one row per open
// window; each failure also deletes up to two lapsed rows, so the table
// stays bounded by the open windows.
type postgresFailures struct {
	pool                       *pgxpool.Pool
	selectSQL, failSQL, delSQL string
}

// newPostgresFailures creates the table when it is missing (under an
// advisory lock, so instances starting together do not collide).
func newPostgresFailures(ctx context.Context, pool *pgxpool.Pool, schema string) (*postgresFailures, error) {
	t := pgx.Identifier{schema, failuresTable}.Sanitize()
	idx := pgx.Identifier{failuresTable + "_window_ends"}.Sanitize()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('examples/server sign-in failures'))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+t+` (
			pool text NOT NULL, key text NOT NULL, failures integer NOT NULL, window_ends timestamptz NOT NULL,
			PRIMARY KEY (pool, key));
			CREATE INDEX IF NOT EXISTS `+idx+` ON `+t+` (window_ends)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating the table %s: %w", t, err)
	}
	return &postgresFailures{
		pool:      pool,
		selectSQL: `SELECT failures FROM ` + t + ` WHERE pool = $1 AND key = $2 AND window_ends > $3`,
		failSQL: `WITH swept AS (DELETE FROM ` + t + ` WHERE (pool, key) IN (SELECT pool, key FROM ` + t + `
				WHERE window_ends <= $3 AND (pool, key) <> ($1, $2) LIMIT 2))
			INSERT INTO ` + t + ` AS f (pool, key, failures, window_ends) VALUES ($1, $2, 1, $4)
			ON CONFLICT (pool, key) DO UPDATE SET
				failures = CASE WHEN f.window_ends > $3 THEN f.failures + 1 ELSE 1 END,
				window_ends = CASE WHEN f.window_ends > $3 THEN f.window_ends ELSE $4 END`,
		delSQL: `DELETE FROM ` + t + ` WHERE pool = $1 AND key = $2`,
	}, nil
}

func (p *postgresFailures) Failures(ctx context.Context, pool, key string, now time.Time) (int, error) {
	var n int
	err := p.pool.QueryRow(ctx, p.selectSQL, pool, key, now).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: reading sign-in failures: %w", err)
	}
	return n, nil
}

func (p *postgresFailures) Fail(ctx context.Context, pool, key string, now time.Time, window time.Duration) error {
	if _, err := p.pool.Exec(ctx, p.failSQL, pool, key, now, now.Add(window)); err != nil {
		return fmt.Errorf("postgres: counting a sign-in failure: %w", err)
	}
	return nil
}

func (p *postgresFailures) Reset(ctx context.Context, pool, key string) error {
	if _, err := p.pool.Exec(ctx, p.delSQL, pool, key); err != nil {
		return fmt.Errorf("postgres: resetting sign-in failures: %w", err)
	}
	return nil
}
