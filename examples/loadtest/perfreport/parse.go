package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

// benchSet holds go test -bench results: for each benchmark name (without
// the -GOMAXPROCS suffix), every value reported for each unit, one per run.
type benchSet map[string]map[string][]float64

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// parseBench reads the result lines of go test -bench output; everything
// else (headers, PASS, logs) is skipped.
func parseBench(b []byte) (benchSet, error) {
	set := benchSet{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("benchmark line %q: values and units do not pair", sc.Text())
		}
		if set[m[1]] == nil {
			set[m[1]] = map[string][]float64{}
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
			}
			set[m[1]][f[i+1]] = append(set[m[1]][f[i+1]], v)
		}
	}
	return set, sc.Err()
}

// median of the values of unit for benchmark name; ok is false when the
// benchmark did not report it.
func (s benchSet) median(name, unit string) (float64, bool) {
	return median(s[name][unit])
}

// runs is how many times the benchmarks reported ns/op: the runs a median
// is taken over.
func (s benchSet) runs() int {
	n := 0
	for _, units := range s {
		n = max(n, len(units["ns/op"]))
	}
	return n
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// pgRound is one line of store/pgxstore/testdata/compare.sh: ops/s of
// pgbench (simple and prepared protocol), of the same upsert through pgx,
// of CodeStore.Issue and of Recover, at concurrency c.
type pgRound struct {
	c                                      int
	pgbench, prepared, pgxFloor, issue, rc float64
}

var compareLine = regexp.MustCompile(`^\d+\s+(\d+)\s+([^|]*)\|`)

// parseCompare reads compare.sh's per-round lines (its medians of ratios
// are recomputed from them, so they are not read). compare.sh prints a
// figure that failed as nothing, which shifts the others left: such a
// line is an error, not a figure to guess.
func parseCompare(b []byte) ([]pgRound, error) {
	var rounds []pgRound
	for line := range strings.Lines(string(b)) {
		m := compareLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c, _ := strconv.Atoi(m[1])
		r := pgRound{c: c}
		dst := []*float64{&r.pgbench, &r.prepared, &r.pgxFloor, &r.issue, &r.rc}
		f := strings.Fields(m[2])
		if len(f) != len(dst) {
			return nil, fmt.Errorf("compare.sh line %q has %d figures, not %d: a benchmark or pgbench failed", strings.TrimSpace(line), len(f), len(dst))
		}
		for i := range dst {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("compare.sh line %q: %w", strings.TrimSpace(line), err)
			}
			*dst[i] = v
		}
		rounds = append(rounds, r)
	}
	if len(rounds) == 0 {
		return nil, fmt.Errorf("no compare.sh round lines")
	}
	return rounds, nil
}

// compareMedian is the median over rounds at concurrency c of the figure
// pick returns.
func compareMedian(rounds []pgRound, c int, pick func(pgRound) float64) (float64, bool) {
	var v []float64
	for _, r := range rounds {
		if r.c == c {
			v = append(v, pick(r))
		}
	}
	return median(v)
}

// redisFloors reads the "redis-benchmark, each round:" lines of
// store/redisstore/bench.sh: "issue c=1 13387.00". The key is "issue c=1".
func redisFloors(b []byte) map[string][]float64 {
	re := regexp.MustCompile(`(?m)^((?:issue|check) c=\d+) ([0-9.]+)$`)
	out := map[string][]float64{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = append(out[m[1]], v)
	}
	return out
}

// machine is what report.sh recorded about the machine, one "key: value"
// a line.
type machine map[string]string

func parseMachine(b []byte) (machine, error) {
	m := machine{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for _, k := range []string{"cores", "cpu", "date"} {
		if m[k] == "" {
			return nil, fmt.Errorf("machine.txt has no %q", k)
		}
	}
	return m, nil
}

func parseLoadRun(b []byte) (runsummary.Run, error) {
	var r runsummary.Run
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	if r.Store == "" {
		return r, fmt.Errorf("no store in the loadtest summary")
	}
	return r, nil
}

// sortRuns orders runs by store (Redis first, as the README does) and
// queue (asyncsender first).
func sortRuns(runs []runsummary.Run) {
	rank := func(s string, order ...string) int {
		if i := slices.Index(order, s); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(runs, func(a, b runsummary.Run) int {
		return cmp.Or(
			cmp.Compare(rank(a.Store, "memory", "redis", "postgres"), rank(b.Store, "memory", "redis", "postgres")),
			cmp.Compare(rank(a.Queue, "async"), rank(b.Queue, "async")),
			cmp.Compare(a.Queue, b.Queue))
	})
}
