package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// num formats v rounded to an integer with thousands separators.
func num(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// metric formats a per-operation count: an integer when it is one, else
// two decimals (queries/op averaged over a run, for instance).
func metric(v float64) string {
	if v == math.Round(v) {
		return num(v)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// pct is a as a percentage of b.
func pct(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

// table renders a markdown table; align holds one letter per column, "l"
// or "r".
func table(head []string, align string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for _, a := range align {
		if a == 'r' {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteByte('\n')
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// cell is a median of a benchmark's unit, formatted by f, or "–" when the
// run did not report it.
func cell(s benchSet, name, unit string, f func(float64) string) string {
	v, ok := s.median(name, unit)
	if !ok {
		return "–"
	}
	return f(v)
}

// mediansOf says what a figure is: the median of n runs, or one run.
func mediansOf(n int, what string) string {
	if n == 1 {
		return "one " + what
	}
	return fmt.Sprintf("medians of %d %ss", n, what)
}

// renderMachine is the paragraph that opens the section: the machine the
// figures come from, as report.sh found it.
func renderMachine(m machine) string {
	parts := []string{m["cores"] + " cores", m["cpu"]}
	for _, k := range []string{"memory", "go", "postgres", "redis"} {
		if m[k] != "" {
			parts = append(parts, m[k])
		}
	}
	took := ""
	if m["minutes"] != "" {
		took = " (it took " + m["minutes"] + " minutes)"
	}
	s := "Machine: " + strings.Join(parts, ", ") + ", measured " + m["date"] + ". " +
		"Client, server and databases share the " + m["cores"] + " cores, so every figure is next to a floor measured on the same machine in the same run. " +
		"All of it comes from one command, `bash examples/loadtest/report.sh`" + took + ", which reruns the measurements and rewrites the tables below."
	if m["quick"] != "" {
		s += "\n\n**Quick mode (`REPORT_QUICK=1`): one short round of everything, for checking the report; not figures to read.**"
	}
	return s
}

func renderEngine(s benchSet) string {
	const r, p, rp = "BenchmarkRecover/serial", "BenchmarkRecover/parallel", "BenchmarkRecover/request-path"
	row := func(name, serial, parallel string) []string {
		return []string{name, cell(s, serial, "ns/op", num), cell(s, parallel, "ns/op", num),
			cell(s, serial, "allocs/op", num), cell(s, serial, "store-calls/op", metric)}
	}
	rows := [][]string{
		row("Recover (request path and the delivery's sending)", r, p),
		row("Recover, request path alone (the outbox drops the delivery)", rp, "none"),
		row("Confirm, test hasher (the engine's own cost)", "BenchmarkConfirm/insecure-hasher/serial", "BenchmarkConfirm/insecure-hasher/parallel"),
		row("Confirm, argon2id (the default)", "BenchmarkConfirm/argon2id/serial", "BenchmarkConfirm/argon2id/parallel"),
	}
	return fmt.Sprintf("**Engine on the memory stores** (`go test -run '^$' -bench . -benchmem ./recovery/`, %s; allocs/op and store calls/op of the serial run):\n\n",
		mediansOf(s.runs(), "run")) +
		table([]string{"operation", "ns/op serial", "ns/op parallel", "allocs/op", "store calls/op"}, "lrrrr", rows)
}

func renderPostgres(s benchSet, rounds []pgRound) string {
	opsCell := func(c int, pick func(pgRound) float64, floor bool) string {
		v, ok := compareMedian(rounds, c, pick)
		if !ok {
			return "–"
		}
		if !floor {
			return num(v)
		}
		f, _ := compareMedian(rounds, c, func(r pgRound) float64 { return r.pgbench })
		return fmt.Sprintf("%s (%s)", num(v), pct(v, f))
	}
	bench := func(label, name string, pick func(pgRound) float64, floor bool) []string {
		row := []string{label,
			cell(s, name+"/serial", "ns/op", num) + " / " + cell(s, name+"/c=16", "ns/op", num),
			cell(s, name+"/serial", "allocs/op", num), cell(s, name+"/serial", "queries/op", metric)}
		if pick == nil {
			return append(row, cell(s, name+"/serial", "ops/s", num), cell(s, name+"/c=16", "ops/s", num), "", "")
		}
		row = append(row, opsCell(1, pick, floor), opsCell(16, pick, floor))
		if name == "BenchmarkCodeStore/Issue" {
			return append(row, opsCell(1, func(r pgRound) float64 { return r.pgbench }, false), opsCell(16, func(r pgRound) float64 { return r.pgbench }, false))
		}
		return append(row, "", "")
	}
	rows := [][]string{
		bench("code store Issue", "BenchmarkCodeStore/Issue", func(r pgRound) float64 { return r.issue }, true),
		bench("Recover, shared database (lookup and Issue in one statement)", "BenchmarkRecover", func(r pgRound) float64 { return r.rc }, true),
		bench("Recover, own user store (lookup, then Issue)", "BenchmarkRecoverOwnUserStore", nil, false),
		bench("Confirm, success (lookup + Check + SetPassword)", "BenchmarkConfirm", nil, false),
	}
	n := 0
	for _, r := range rounds {
		if r.c == 1 {
			n++
		}
	}
	return fmt.Sprintf("**Postgres** (`store/pgxstore`: `go test -bench 'Benchmark(Recover|RecoverOwnUserStore|Confirm|CodeStore)$'`, %s, queries counted by a pgx `QueryTracer`; "+
		"ops/s of Issue and Recover and the floor, `pgbench -n -f testdata/upsert.sql` (one equivalent single-row upsert), interleaved with ours by `testdata/compare.sh`, %s; the own-user-store Recover's and Confirm's ops/s from the first):\n\n",
		mediansOf(s.runs(), "run"), mediansOf(n, "round")) +
		table([]string{"operation", "ns/op c=1 / c=16", "allocs/op", "queries/op", "ops/s c=1", "ops/s c=16", "pgbench c=1", "pgbench c=16"}, "lrrrrrrr", rows)
}

func renderRedis(s benchSet, floors map[string][]float64) string {
	floor := func(key string) (float64, bool) { return median(floors[key]) }
	ops := func(name, fkey string) string {
		v, ok := s.median(name, "ops/s")
		if !ok {
			return "–"
		}
		if f, ok := floor(fkey); ok && fkey != "" {
			return fmt.Sprintf("%s (%s)", num(v), pct(v, f))
		}
		return num(v)
	}
	fcell := func(key string) string {
		if f, ok := floor(key); ok {
			return num(f)
		}
		return "–"
	}
	row := func(label, name, script string) []string {
		r := []string{label, cell(s, name+"/c=1", "allocs/op", num), cell(s, name+"/c=1", "cmds/op", metric)}
		if script == "" {
			return append(r, ops(name+"/c=1", ""), ops(name+"/c=50", ""), "", "")
		}
		return append(r, ops(name+"/c=1", script+" c=1"), ops(name+"/c=50", script+" c=50"), fcell(script+" c=1"), fcell(script+" c=50"))
	}
	rows := [][]string{
		row("code store Issue", "BenchmarkCodeStore/issue/plain", "issue"),
		row("Recover", "BenchmarkRecover/plain", "issue"),
		row("Recover, go-redis AutoPipeliner", "BenchmarkRecover/autopipeline", ""),
		row("Confirm (a Check)", "BenchmarkConfirm/plain", "check"),
	}
	return fmt.Sprintf("**Redis** (`store/redisstore`: `bash store/redisstore/bench.sh`; commands counted by a go-redis hook; "+
		"floor: `redis-benchmark` running the same scripts by EVALSHA at the same concurrency; %s, alternating):\n\n", mediansOf(len(floors["issue c=1"]), "round")) +
		table([]string{"operation", "allocs/op", "cmds/op", "ops/s c=1", "ops/s c=50", "redis-benchmark c=1", "c=50"}, "lrrrrrr", rows)
}

func renderSMTP(s benchSet) string {
	row := func(label, workers, send, floor string) []string {
		v, ok1 := s.median(send, "msgs/s")
		f, ok2 := s.median(floor, "msgs/s")
		if !ok1 || !ok2 {
			return []string{label, workers, cell(s, send, "msgs/s", num), cell(s, floor, "msgs/s", num), "–"}
		}
		return []string{label, workers, num(v), num(f), pct(v, f)}
	}
	rows := [][]string{
		row("pool, MaxConnections 1", "1", "BenchmarkSend/workers=1", "BenchmarkSendFloor/workers=1"),
		row("pool, MaxConnections 16", "16", "BenchmarkSend/workers=16", "BenchmarkSendFloor/workers=16"),
		row("pool, MaxConnections default", "16", "BenchmarkSend/workers=16,maxconns=default", "BenchmarkSendFloor/workers=16"),
		row("pool, MaxConnections 1, DisablePipelining", "1", "BenchmarkSend/workers=1,nopipelining", "BenchmarkSendFloor/workers=1"),
		row("pool, MaxConnections 16, DisablePipelining", "16", "BenchmarkSend/workers=16,nopipelining", "BenchmarkSendFloor/workers=16"),
	}
	return fmt.Sprintf("**SMTP pool vs floor** (`go test -run '^$' -bench 'BenchmarkSend' ./delivery/smtpsender/`, %s): `smtpsender`'s pooled Sender "+
		"against net/smtp over one persistent connection per worker sending the same pre-rendered message, both to a discarding sink on the same machine. "+
		"The pool pipelines MAIL, RCPT and DATA (RFC 2920) when the server offers it, as the sink does, and net/smtp does not; the DisablePipelining rows send one command at a time, as the floor does:\n\n",
		mediansOf(s.runs(), "run")) +
		table([]string{"sender", "workers", "msgs/s", "floor msgs/s", "% of floor"}, "lrrrr", rows)
}
