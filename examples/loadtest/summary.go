package main

import (
	"encoding/json"
	"os"
	"slices"
	"time"
)

// summary is what -json writes: the figures of one run in a stable form,
// for examples/loadtest/perfreport (which mirrors these field names) and
// any other reader. Rates are per second, times in milliseconds or
// microseconds as the names say.
type summary struct {
	Store   string               `json:"store"`
	Queue   string               `json:"queue"`
	N       int                  `json:"n"`
	C       int                  `json:"c"`
	Confirm bool                 `json:"confirm"`
	Ops     map[string]opSummary `json:"ops,omitempty"`
	// Mail is set by runs with -confirm=false, which wait for the mail.
	Mail *mailSummary `json:"mail,omitempty"`
	// ServerCPUPerRequestMicros is the spawned server's CPU per
	// ForgotPassword answered, its mail included (0: not measured).
	ServerCPUPerRequestMicros float64    `json:"server_cpu_per_request_us,omitempty"`
	Floor                     []floorRow `json:"floor,omitempty"`
	// Error is the run's error, if it failed.
	Error string `json:"error,omitempty"`
}

type opSummary struct {
	OK        int            `json:"ok"`
	OpsPerSec float64        `json:"ops_per_sec"`
	P50Millis float64        `json:"p50_ms"`
	P90Millis float64        `json:"p90_ms"`
	P99Millis float64        `json:"p99_ms"`
	Errors    map[string]int `json:"errors,omitempty"`
}

type mailSummary struct {
	Answered        int     `json:"answered"`
	Delivered       int     `json:"delivered"`
	LastAfterMillis float64 `json:"last_after_ms"`
}

// floorRow is one concurrency of the floor comparison.
type floorRow struct {
	C                  int            `json:"c"`
	FloorOpsPerSec     float64        `json:"floor_ops_per_sec"`
	FloorP50Millis     float64        `json:"floor_p50_ms"`
	SimulatedOpsPerSec float64        `json:"simulated_ops_per_sec"`
	SimulatedP50Millis float64        `json:"simulated_p50_ms"`
	RealOpsPerSec      float64        `json:"real_ops_per_sec"`
	RealP50Millis      float64        `json:"real_p50_ms"`
	Errors             map[string]int `json:"errors,omitempty"`
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize is the JSON form of what print prints.
func (r *results) summarize() map[string]opSummary {
	m := map[string]opSummary{}
	for name, s := range r.ops {
		if len(s.latencies) == 0 && len(s.errors) == 0 {
			continue
		}
		l := slices.Clone(s.latencies)
		slices.Sort(l)
		m[name] = opSummary{
			OK: len(l), OpsPerSec: float64(len(l)) / r.elapsed.Seconds(),
			P50Millis: millis(percentile(l, .50)), P90Millis: millis(percentile(l, .90)), P99Millis: millis(percentile(l, .99)),
			Errors: s.errors,
		}
	}
	return m
}

func (s *summary) write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
