package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.RequestLimiter = (*Limiter)(nil)

// Limiter is an in-memory recovery.RequestLimiter with sliding windows,
// estimated the usual way from two fixed windows: the previous window's count
// weighted by how much of it still overlaps the sliding one, plus the current
// count. It never allows more than Limit requests in one fixed window, and
// spreads a burst at a window edge over the next window. The zero value is
// not usable; call NewLimiter.
type Limiter struct {
	mu       sync.Mutex
	counters map[limitKey]*counter
	calls    int
}

type limitKey struct{ pool, key string }

type counter struct {
	window     time.Duration
	index      int64 // which fixed window curr counts: now / window
	prev, curr int
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter {
	return &Limiter{counters: make(map[limitKey]*counter)}
}

// roll moves c to the fixed window of now.
func (c *counter) roll(now time.Time, w time.Duration) {
	idx := now.UnixMilli() / w.Milliseconds()
	switch {
	case c.window != w || idx > c.index+1:
		c.window, c.prev, c.curr = w, 0, 0
	case idx == c.index+1:
		c.prev, c.curr = c.curr, 0
	case idx < c.index: // clock went back: keep counting where we were
		return
	}
	c.index = idx
}

// estimate is the sliding-window count at now.
func (c *counter) estimate(now time.Time) float64 {
	w := c.window.Milliseconds()
	elapsed := now.UnixMilli() - c.index*w
	overlap := 1 - float64(elapsed)/float64(w)
	if overlap < 0 {
		overlap = 0
	}
	return float64(c.prev)*overlap + float64(c.curr)
}

// Allow implements recovery.RequestLimiter.
func (l *Limiter) Allow(ctx context.Context, r recovery.LimitRequest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls++; l.calls%sweepEvery == 0 {
		l.sweep(r.Now)
	}
	cs := make([]*counter, len(r.Keys))
	for i, k := range r.Keys {
		w := max(k.Rate.Window, time.Millisecond)
		c, ok := l.counters[limitKey{r.Pool, k.Key}]
		if !ok {
			c = &counter{window: w, index: r.Now.UnixMilli() / w.Milliseconds()}
		}
		c.roll(r.Now, w)
		if c.estimate(r.Now)+1 > float64(k.Rate.Limit) {
			return false, nil
		}
		cs[i] = c
	}
	for i, k := range r.Keys {
		cs[i].curr++
		l.counters[limitKey{r.Pool, k.Key}] = cs[i]
	}
	return true, nil
}

// sweep drops counters whose windows have both passed.
func (l *Limiter) sweep(now time.Time) {
	for k, c := range l.counters {
		if now.UnixMilli()/c.window.Milliseconds() > c.index+1 {
			delete(l.counters, k)
		}
	}
}

// Len returns how many counters the limiter holds, for tests that check
// memory stays bounded.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counters)
}
