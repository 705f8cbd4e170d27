package main

import (
	"encoding/json"
	"os"
	"slices"
	"time"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize is the JSON form of what print prints.
func (r *results) summarize() map[string]runsummary.Op {
	m := map[string]runsummary.Op{}
	for name, s := range r.ops {
		if len(s.latencies) == 0 && len(s.errors) == 0 {
			continue
		}
		l := slices.Clone(s.latencies)
		slices.Sort(l)
		m[name] = runsummary.Op{
			OK: len(l), OpsPerSec: float64(len(l)) / r.elapsed.Seconds(),
			P50Millis: millis(percentile(l, .50)), P90Millis: millis(percentile(l, .90)), P99Millis: millis(percentile(l, .99)),
			Errors: s.errors,
		}
	}
	return m
}

// writeSummary writes s as indented JSON to path.
func writeSummary(s *runsummary.Run, path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
