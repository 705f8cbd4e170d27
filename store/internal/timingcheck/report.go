package timingcheck

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Report is what Measure measured: Recover's latency for known users and
// for unknown identifiers.
type Report struct {
	// Samples is the number of calls measured per group.
	Samples int
	// Known and Unknown are the latencies, in the order taken.
	Known, Unknown []time.Duration
	// The medians and 90th percentiles of each group.
	KnownMedian, UnknownMedian time.Duration
	KnownP90, UnknownP90       time.Duration
	// D is the two-sample Kolmogorov-Smirnov statistic of the groups (KS),
	// and Critical its critical value at significance Alpha (KSCritical):
	// D above Critical means the two distributions differ, not that the
	// difference is large.
	D, Critical, Alpha float64
}

// String gives every figure on one line.
func (r Report) String() string {
	return fmt.Sprintf("%d samples each: median known %s, unknown %s; p90 known %s, unknown %s; KS D = %.4f (critical %.4f at alpha %g)",
		r.Samples, r.KnownMedian, r.UnknownMedian, r.KnownP90, r.UnknownP90, r.D, r.Critical, r.Alpha)
}

// The thresholds of Leak.
const (
	medianSlack = 200 * time.Microsecond
	medianRatio = 0.25
	p90Slack    = time.Millisecond
	p90Ratio    = 0.5
)

// Leak returns an error describing a clear difference between the two
// groups, or nil. A difference is clear when the medians differ by more
// than max(25% of the smaller median, 200 µs) or the 90th percentiles by
// more than max(50% of the smaller one, 1 ms), in either direction.
//
// Why these figures: the leak this guards against is a known user's
// request waiting for delivery, which costs what a mail server or an SMS
// gateway takes, milliseconds to seconds; that is one to three orders of
// magnitude above the thresholds, so it cannot pass (the control tests
// show a 20 ms sender caught every time). Below them the figures are
// within what scheduling, garbage collection and a shared machine move
// sub-millisecond calls by between two runs, and, for a caller across a
// network, within its jitter on a single request. The KS statistic is
// reported but not judged: with thousands of samples it exceeds its
// critical value for differences of a few microseconds (a known user's
// request does queue a message), which an attacker could only exploit by
// averaging many requests, something the per-user budget and request
// limits bound.
func (r Report) Leak() error {
	differ := func(a, b, slack time.Duration, ratio float64) bool {
		diff := a - b
		if diff < 0 {
			diff = -diff
		}
		limit := time.Duration(ratio * float64(min(a, b)))
		return diff > max(limit, slack)
	}
	switch {
	case differ(r.KnownMedian, r.UnknownMedian, medianSlack, medianRatio):
		return fmt.Errorf("the median latency of Recover differs between known users (%s) and unknown identifiers (%s) by more than max(%.0f%%, %s)",
			r.KnownMedian, r.UnknownMedian, 100*medianRatio, medianSlack)
	case differ(r.KnownP90, r.UnknownP90, p90Slack, p90Ratio):
		return fmt.Errorf("the 90th-percentile latency of Recover differs between known users (%s) and unknown identifiers (%s) by more than max(%.0f%%, %s)",
			r.KnownP90, r.UnknownP90, 100*p90Ratio, p90Slack)
	}
	return nil
}

// quantile is the q-quantile of d (nearest rank below).
func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// KS returns the two-sample Kolmogorov-Smirnov statistic of a and b: the
// largest distance between their empirical distribution functions, from 0
// (the samples are spread alike) to 1 (every value of one is below every
// value of the other). Both must be non-empty.
func KS(a, b []time.Duration) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// KSCritical returns the critical value of the two-sample
// Kolmogorov-Smirnov statistic for samples of sizes n and m at significance
// alpha, by the large-sample approximation
// sqrt(-ln(alpha/2)/2) * sqrt((n+m)/(n*m)): a D above it rejects, at that
// level, that both samples come from one distribution.
func KSCritical(n, m int, alpha float64) float64 {
	return math.Sqrt(-math.Log(alpha/2)/2) * math.Sqrt(float64(n+m)/float64(n*m))
}
