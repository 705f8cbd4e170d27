// Package runsummary is the JSON summary of one examples/loadtest run,
// shared by the load tool that writes it and the report that reads it.
package runsummary

// Run is what examples/loadtest -json writes: the figures of one run in a
// stable form, which examples/loadtest/perfreport reads. Rates are per
// second, times in milliseconds or microseconds as the names say.
type Run struct {
	Store   string        `json:"store"`
	Queue   string        `json:"queue"`
	N       int           `json:"n"`
	C       int           `json:"c"`
	Confirm bool          `json:"confirm"`
	Ops     map[string]Op `json:"ops,omitempty"`
	// Mail is set by runs with -confirm=false, which wait for the mail.
	Mail *Mail `json:"mail,omitempty"`
	// ServerCPUPerRequestMicros is the spawned server's CPU per
	// ForgotPassword answered, its mail included (0: not measured).
	ServerCPUPerRequestMicros float64    `json:"server_cpu_per_request_us,omitempty"`
	Floor                     []FloorRow `json:"floor,omitempty"`
	// Error is the run's error, if it failed.
	Error string `json:"error,omitempty"`
}

// Op is one operation's figures.
type Op struct {
	OK        int            `json:"ok"`
	OpsPerSec float64        `json:"ops_per_sec"`
	P50Millis float64        `json:"p50_ms"`
	P90Millis float64        `json:"p90_ms"`
	P99Millis float64        `json:"p99_ms"`
	Errors    map[string]int `json:"errors,omitempty"`
}

// Mail is what reached the SMTP sink.
type Mail struct {
	Answered        int     `json:"answered"`
	Delivered       int     `json:"delivered"`
	LastAfterMillis float64 `json:"last_after_ms"`
}

// FloorRow is one concurrency of the floor comparison.
type FloorRow struct {
	C                  int            `json:"c"`
	FloorOpsPerSec     float64        `json:"floor_ops_per_sec"`
	FloorP50Millis     float64        `json:"floor_p50_ms"`
	SimulatedOpsPerSec float64        `json:"simulated_ops_per_sec"`
	SimulatedP50Millis float64        `json:"simulated_p50_ms"`
	RealOpsPerSec      float64        `json:"real_ops_per_sec"`
	RealP50Millis      float64        `json:"real_p50_ms"`
	Errors             map[string]int `json:"errors,omitempty"`
}
