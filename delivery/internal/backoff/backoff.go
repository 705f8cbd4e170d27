// Package backoff is the retry timing the delivery packages share:
// exponential backoff with full jitter, a wait the server asked for
// (Retry-After) honoured up to the same cap, and a sleep that ends with its
// context. asyncsender and webhooksender both retry with it, so their
// waits follow one rule.
package backoff

import (
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"time"
)

// Policy says how long to wait before the next attempt. The zero Policy
// never waits.
type Policy struct {
	// Base is the ceiling of the wait after the first failed attempt; it
	// doubles for each later one.
	Base time.Duration
	// Max caps every wait, one the server asked for included.
	Max time.Duration
	// Rand supplies the jitter. Nil means math/rand/v2; tests pass a
	// reader of fixed bytes to make the waits predictable.
	Rand io.Reader
}

// Ceiling is the longest wait after failed attempt n (1-based):
// min(Max, Base·2^(n-1)), computed without overflow however large n is.
func (p Policy) Ceiling(attempt int) time.Duration {
	c := max(p.Base, 0)
	for i := 1; i < attempt && c > 0 && c < p.Max; i++ {
		if c > p.Max/2 {
			return p.Max
		}
		c *= 2
	}
	return max(min(c, p.Max), 0)
}

// Delay is the wait after failed attempt n (1-based). When the server asked
// for a wait (requested >= 0, such as a Retry-After header), that wait,
// capped by Max; otherwise a wait drawn uniformly from [0, Ceiling(n))
// ("full jitter", so that clients that failed together do not retry
// together). A negative requested means the server asked for nothing.
func (p Policy) Delay(attempt int, requested time.Duration) time.Duration {
	if requested >= 0 {
		return max(min(requested, p.Max), 0)
	}
	ceiling := p.Ceiling(attempt)
	if ceiling <= 0 {
		return 0
	}
	frac, ok := p.fraction()
	if !ok {
		// No randomness to be had: the longest wait is the safe one.
		return ceiling
	}
	return time.Duration(frac * float64(ceiling))
}

// fraction draws a number uniformly from [0, 1).
func (p Policy) fraction() (float64, bool) {
	if p.Rand == nil {
		return rand.Float64(), true
	}
	var b [8]byte
	if _, err := io.ReadFull(p.Rand, b[:]); err != nil {
		return 0, false
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53), true
}

// Sleep waits for d, or until ctx ends, when it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
