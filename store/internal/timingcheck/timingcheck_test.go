package timingcheck_test

import (
	"math"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/store/internal/timingcheck"
)

func durations(ms ...float64) []time.Duration {
	d := make([]time.Duration, len(ms))
	for i, m := range ms {
		d[i] = time.Duration(m * float64(time.Millisecond))
	}
	return d
}

func TestKS(t *testing.T) {
	for _, tt := range []struct {
		a, b []time.Duration
		want float64
	}{
		{durations(1, 2, 3), durations(1, 2, 3), 0},
		{durations(1, 2, 3), durations(4, 5, 6), 1},
		{durations(4, 5, 6), durations(1, 2, 3), 1},
		{durations(1, 2, 3, 4), durations(3, 4, 5, 6), 0.5},
		{durations(1, 1, 1), durations(1), 0},
		{durations(1, 3), durations(2, 4, 6, 8), 0.75},
	} {
		if got := timingcheck.KS(tt.a, tt.b); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("KS(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	// The tabulated coefficient for alpha 0.001 is 1.949.
	if got, want := timingcheck.KSCritical(3000, 3000, 0.001), 1.949*math.Sqrt(2.0/3000); math.Abs(got-want) > 1e-4 {
		t.Errorf("KSCritical(3000, 3000, 0.001) = %.5f, want %.5f", got, want)
	}
}

func TestTimingReportLeak(t *testing.T) {
	us := time.Microsecond
	for _, tt := range []struct {
		name           string
		km, um, kp, up time.Duration
		leak           bool
	}{
		{"alike", 40 * us, 42 * us, 60 * us, 61 * us, false},
		{"microseconds apart", 40 * us, 200 * us, 60 * us, 300 * us, false}, // within 200 µs and 1 ms
		{"sub-ms medians 30% apart", 700 * us, 950 * us, 900 * us, 1100 * us, true},
		{"sub-ms medians 20% apart", 800 * us, 950 * us, 900 * us, 1100 * us, false},
		{"p90 apart", 40 * us, 40 * us, 60 * us, 1500 * us, true},
		{"slow sender", 20 * time.Millisecond, 40 * us, 21 * time.Millisecond, 60 * us, true},
		{"unknown slower", 40 * us, 900 * us, 60 * us, 1000 * us, true},
	} {
		r := timingcheck.Report{KnownMedian: tt.km, UnknownMedian: tt.um, KnownP90: tt.kp, UnknownP90: tt.up}
		if err := r.Leak(); (err != nil) != tt.leak {
			t.Errorf("%s: Leak() = %v, want a leak: %v", tt.name, err, tt.leak)
		}
	}
}
