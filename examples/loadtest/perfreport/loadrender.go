package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

var storeNames = map[string]string{"redis": "Redis", "postgres": "Postgres", "memory": "memory"}

// queueName names a run's queue as the README does: -queue auto is River
// on Postgres and asynq on Redis.
func queueName(r runsummary.Run) string {
	switch {
	case r.Queue == "async":
		return "asyncsender"
	case r.Queue == "auto" && r.Store == "postgres", r.Queue == "river":
		return "River"
	case r.Queue == "auto" && r.Store == "redis", r.Queue == "asynq":
		return "asynq"
	}
	return r.Queue
}

// errorNotes lists the errors the runs met, so that a table never hides
// them; empty when there were none.
func errorNotes(runs []runsummary.Run) string {
	var notes []string
	add := func(r runsummary.Run, where string, errs map[string]int) {
		for _, k := range slices.Sorted(maps.Keys(errs)) {
			notes = append(notes, fmt.Sprintf("%s %s%s: %d× %s", storeNames[r.Store], queueName(r), where, errs[k], k))
		}
	}
	for _, r := range runs {
		if r.Error != "" {
			notes = append(notes, fmt.Sprintf("%s %s: the run failed: %s", storeNames[r.Store], queueName(r), r.Error))
		}
		for _, name := range slices.Sorted(maps.Keys(r.Ops)) {
			add(r, " "+name, r.Ops[name].Errors)
		}
		for _, f := range r.Floor {
			add(r, fmt.Sprintf(" c=%d", f.C), f.Errors)
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "\n\nErrors in these runs: " + strings.Join(notes, "; ") + "."
}

func renderHTTP(runs []runsummary.Run) string {
	sortRuns(runs)
	var rows [][]string
	for _, r := range runs {
		for _, f := range r.Floor {
			rows = append(rows, []string{storeNames[r.Store], fmt.Sprint(f.C), num(f.FloorOpsPerSec),
				num(f.SimulatedOpsPerSec), pct(f.SimulatedOpsPerSec, f.FloorOpsPerSec),
				num(f.RealOpsPerSec), pct(f.RealOpsPerSec, f.FloorOpsPerSec), pct(f.RealOpsPerSec, f.SimulatedOpsPerSec)})
		}
	}
	return "**Over HTTP** (`go run ./examples/loadtest -store memory|redis|postgres -floor -floor-c 1,32`, one run each): ForgotPassword on `examples/server` against the load " +
		"tool's HTTP floor, a minimal handler in its own process that decodes the same request and makes one equivalent store round trip. " +
		"\"Simulated\" requests (existence errors prevented, identifiers matching nobody) do a real request's store work without a message; " +
		"\"real\" requests also send mail through the async queue to an SMTP sink on the same machine; the last column is real mail's rate against the simulated path's.\n\n" +
		table([]string{"store", "c", "floor ops/s", "simulated ops/s", "ratio", "real ops/s", "ratio", "real / simulated"}, "lrrrrrrr", rows) +
		errorNotes(runs)
}

func renderBurst(runs []runsummary.Run) string {
	sortRuns(runs)
	var rows [][]string
	n, c := 0, 0
	for _, r := range runs {
		n, c = max(n, r.N), max(c, r.C)
		fp := r.Ops["ForgotPassword"]
		delivered, last := "–", "–"
		if m := r.Mail; m != nil {
			delivered = num(float64(m.Delivered))
			last = fmt.Sprintf("%.1f s", m.LastAfterMillis/1000)
			if m.Delivered < m.Answered {
				delivered = "**" + delivered + "**"
				last = fmt.Sprintf("(%s never sent)", num(float64(m.Answered-m.Delivered)))
			}
		}
		cpu := "–"
		if r.ServerCPUPerRequestMicros > 0 {
			cpu = num(r.ServerCPUPerRequestMicros) + " µs"
		}
		rows = append(rows, []string{storeNames[r.Store], queueName(r), num(fp.OpsPerSec), delivered, last, cpu})
	}
	return fmt.Sprintf("**Durable delivery under a burst** (`go run ./examples/loadtest -n %d -users %d -c %d -confirm=false -store postgres|redis -queue auto|async`): "+
		"%s ForgotPassword requests at concurrency %d, each for a different existing user (a delivery that waited more than 5 s behind a newer code of its user "+
		"would be dropped as superseded, by design), real mail to the SMTP sink (pooled SMTP connections), then up to a minute for the mail to arrive; "+
		"one run each. Server CPU is the spawned server's, over the requests and their mail, per request.\n\n", n, n, c, num(float64(n)), c) +
		table([]string{"store", "queue", "requests/s", "mail delivered", "last mail after the run", "server CPU per request"}, "llrrrr", rows) +
		errorNotes(runs)
}

func renderPath(runs []runsummary.Run) string {
	sortRuns(runs)
	var rows [][]string
	for _, r := range runs {
		for _, f := range r.Floor {
			rows = append(rows, []string{storeNames[r.Store], queueName(r), fmt.Sprint(f.C), num(f.FloorOpsPerSec),
				fmt.Sprintf("%s (%s)", num(f.SimulatedOpsPerSec), pct(f.SimulatedOpsPerSec, f.FloorOpsPerSec)),
				fmt.Sprintf("%s (%s)", num(f.RealOpsPerSec), pct(f.RealOpsPerSec, f.FloorOpsPerSec))})
		}
	}
	return "**The request path by queue** (`go run ./examples/loadtest -store redis|postgres -queue async|auto -floor -floor-c 1,32 -confirm=false`, one run each): " +
		"ForgotPassword per second against the HTTP floor of the same run; \"simulated\" is the hidden-existence answer for identifiers that match nobody " +
		"(a decoy goes through the same queue), \"real\" sends mail to the sink.\n\n" +
		table([]string{"store", "queue", "c", "floor/s", "simulated/s", "real/s"}, "llrrrr", rows) +
		errorNotes(runs)
}
