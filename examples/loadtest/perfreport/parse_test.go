package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBenchMedians(t *testing.T) {
	// memory.txt is a go test -bench -count 2 run of ./recovery/ in which
	// the parallel sub-benchmark failed: its FAIL lines must not count.
	s, err := parseBench(readSample(t, "memory.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkRecover/serial", "ns/op", (14481 + 15885) / 2.0},
		{"BenchmarkRecover/request-path", "allocs/op", 8.5},
		{"BenchmarkConfirm/argon2id/parallel", "store-calls/op", 1},
	} {
		if got, ok := s.median(c.name, c.unit); !ok || got != c.want {
			t.Errorf("%s %s: %v, %v; want %v", c.name, c.unit, got, ok, c.want)
		}
	}
	if _, ok := s.median("BenchmarkRecover/parallel", "ns/op"); ok {
		t.Error("the failed parallel run has a figure")
	}
	if s.runs() != 2 {
		t.Errorf("runs: %d, want 2", s.runs())
	}
}

func TestParseBenchMetrics(t *testing.T) {
	s, err := parseBench(readSample(t, "pgx.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.median("BenchmarkRecover/serial", "queries/op"); got != 2.99 {
		t.Errorf("queries per Recover: %v, want 2.99", got)
	}
	if got, _ := s.median("BenchmarkCodeStore/Issue/c=16", "ops/s"); got != 853.4 {
		t.Errorf("Issue ops/s at c=16: %v, want 853.4", got)
	}
	if _, err := parseBench([]byte("BenchmarkX-2 \t 10\t 5 ns/op 7\n")); err == nil {
		t.Error("an unpaired value parsed")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got, _ := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if _, ok := median(nil); ok {
		t.Error("median of nothing is ok")
	}
}

func TestParseCompare(t *testing.T) {
	rounds, err := parseCompare(readSample(t, "compare.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []pgRound{{c: 1, pgbench: 147, prepared: 106, pgxFloor: 140, issue: 163, rc: 110},
		{c: 16, pgbench: 939, prepared: 1305, pgxFloor: 1489, issue: 1809, rc: 414}}
	if !slices.Equal(rounds, want) {
		t.Errorf("rounds: %+v, want %+v", rounds, want)
	}
	three := "round c    pgb-simp pgb-prep  pgx-flr    Issue  Recover |   Iss/pgb\n" +
		"1     1        2094     2200     2000     1828     1374 |       89%\n" +
		"2     1        2000     2200     2000     1800     1400 |       89%\n" +
		"3     1        2100     2200     2000     1900     1300 |       89%\n"
	rounds, err = parseCompare([]byte(three))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := compareMedian(rounds, 1, func(r pgRound) float64 { return r.rc }); got != 1374 {
		t.Errorf("median Recover: %v, want 1374", got)
	}
	if _, ok := compareMedian(rounds, 16, func(r pgRound) float64 { return r.rc }); ok {
		t.Error("a median at a concurrency that was not run")
	}
	if _, err := parseCompare([]byte("nothing here\n")); err == nil {
		t.Error("no rounds parsed without an error")
	}
}

// In compare-failed.txt BenchmarkUpsertFloor failed and compare.sh
// printed the other figures shifted into its column.
func TestParseCompareFailedBenchmark(t *testing.T) {
	if r, err := parseCompare(readSample(t, "compare-failed.txt")); err == nil {
		t.Errorf("shifted figures parsed: %+v", r)
	}
}

func TestRedisFloors(t *testing.T) {
	f := redisFloors(readSample(t, "redis.txt"))
	if got := f["issue c=50"]; len(got) != 1 || got[0] != 4793.40 {
		t.Errorf("issue c=50: %v", got)
	}
	if got := f["check c=1"]; len(got) != 1 || got[0] != 3273.32 {
		t.Errorf("check c=1: %v", got)
	}
}

func TestParseMachine(t *testing.T) {
	m, err := parseMachine(readSample(t, "machine.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if m["cpu"] != "AMD EPYC" || m["cores"] != "2" || !strings.Contains(m["postgres"], "fsync=on") {
		t.Errorf("machine: %v", m)
	}
	if _, err := parseMachine([]byte("cpu: x\n")); err == nil {
		t.Error("a machine without cores parsed")
	}
}

func TestParseLoadRun(t *testing.T) {
	r, err := parseLoadRun(readSample(t, "burst-postgres-auto.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Store != "postgres" || r.Queue != "auto" || r.Mail == nil || r.Mail.Delivered != 100 || r.ServerCPUPerRequestMicros != 3000 {
		t.Errorf("burst run: %+v", r)
	}
	r, err = parseLoadRun(readSample(t, "http-redis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Floor) != 2 || r.Floor[1].C != 8 || r.Ops["ForgotPassword"].OK != 30 {
		t.Errorf("http run: %+v", r)
	}
	if _, err := parseLoadRun([]byte(`{}`)); err == nil {
		t.Error("a summary without a store parsed")
	}
}
