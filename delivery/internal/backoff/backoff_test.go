package backoff

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/iotest"
	"time"
)

// constReader yields one byte forever: 0x00 draws zero, 0xff draws just
// under the ceiling.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestCeiling(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name      string
		base, max time.Duration
		attempt   int
		want      time.Duration
	}{
		{"first", 100 * ms, time.Second, 1, 100 * ms},
		{"doubles", 100 * ms, time.Second, 2, 200 * ms},
		{"doubles again", 100 * ms, time.Second, 4, 800 * ms},
		{"capped", 100 * ms, time.Second, 5, time.Second},
		{"attempt 0 is the first", 100 * ms, time.Second, 0, 100 * ms},
		{"base above max", 2 * time.Second, time.Second, 1, time.Second},
		{"no overflow", time.Hour, math.MaxInt64, 200, math.MaxInt64},
		{"no overflow at a huge attempt", time.Second, 30 * time.Second, math.MaxInt, 30 * time.Second},
		{"zero base", 0, time.Second, math.MaxInt, 0},
		{"zero policy", 0, 0, 3, 0},
		{"negative max", time.Second, -time.Second, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Base: tc.base, Max: tc.max}
			if got := p.Ceiling(tc.attempt); got != tc.want {
				t.Errorf("Policy{Base: %v, Max: %v}.Ceiling(%d) = %v, want %v", tc.base, tc.max, tc.attempt, got, tc.want)
			}
		})
	}
}

func TestDelayJitter(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	t.Run("bounds", func(t *testing.T) {
		for attempt := 1; attempt <= 6; attempt++ {
			ceiling := p.Ceiling(attempt)
			var lo, hi time.Duration = ceiling, 0
			for range 2000 {
				d := p.Delay(attempt, -1)
				if d < 0 || d >= ceiling {
					t.Fatalf("attempt %d: wait %v outside [0, %v)", attempt, d, ceiling)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			// Full jitter spreads the waits over the whole range.
			if lo > ceiling/10 || hi < ceiling*9/10 {
				t.Errorf("attempt %d: 2000 waits span only [%v, %v] of [0, %v)", attempt, lo, hi, ceiling)
			}
		}
	})
	t.Run("fixed bytes", func(t *testing.T) {
		zero, ones := p, p
		zero.Rand, ones.Rand = constReader(0), constReader(0xff)
		for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 500 * time.Millisecond, 9: 500 * time.Millisecond} {
			if d := zero.Delay(attempt, -1); d != 0 {
				t.Errorf("attempt %d with zero bytes: %v, want 0", attempt, d)
			}
			if d := ones.Delay(attempt, -1); d >= ceiling || d < ceiling*99/100 {
				t.Errorf("attempt %d with 0xff bytes: %v, want just under %v", attempt, d, ceiling)
			}
		}
	})
	t.Run("failing randomness waits the longest", func(t *testing.T) {
		q := p
		q.Rand = iotest.ErrReader(errors.New("no entropy"))
		if d := q.Delay(2, -1); d != 200*time.Millisecond {
			t.Errorf("Delay = %v, want the ceiling 200ms", d)
		}
	})
	t.Run("zero policy", func(t *testing.T) {
		if d := (Policy{}).Delay(1, -1); d != 0 {
			t.Errorf("Delay = %v, want 0", d)
		}
	})
}

func TestDelayRequested(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: 10 * time.Second, Rand: constReader(0xff)}
	for _, tc := range []struct {
		requested, want time.Duration
	}{
		{0, 0},                             // "retry now" is honoured
		{3 * time.Second, 3 * time.Second}, // no jitter on a requested wait
		{time.Hour, 10 * time.Second},      // capped by Max
		{math.MaxInt64, 10 * time.Second},  // however large
	} {
		if got := p.Delay(1, tc.requested); got != tc.want {
			t.Errorf("Delay(1, %v) = %v, want %v", tc.requested, got, tc.want)
		}
	}
	// Negative: nothing was asked for, so the jittered wait under 100ms.
	if got := p.Delay(1, -1); got < 99*time.Millisecond || got >= 100*time.Millisecond {
		t.Errorf("Delay(1, -1) = %v, want the jittered wait just under 100ms", got)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep did not return when its context ended")
	}
}
