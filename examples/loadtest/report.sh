#!/usr/bin/env bash
# report.sh: produces every figure of the README's performance section, on
# this machine, in one run. From the module root:
#
#   bash examples/loadtest/report.sh [rounds] > perf.txt
#
# Needs Postgres and Redis (RECOVERY_TEST_POSTGRES / RECOVERY_TEST_REDIS, or
# the local defaults), pgbench, redis-benchmark, and benchstat
# (go install golang.org/x/perf/cmd/benchstat@latest). Takes ~15 minutes.
# Run it on a quiet machine: client, server and databases share the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
export RECOVERY_TEST_POSTGRES=${RECOVERY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export RECOVERY_TEST_REDIS=${RECOVERY_TEST_REDIS:-redis://127.0.0.1:6379/0}
PATH=$PATH:$(go env GOPATH)/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

section() { printf '\n## %s\n\n' "$*"; }

section machine
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB; $(go version)"
psql "$RECOVERY_TEST_POSTGRES" -Atc 'select version()' | cut -d, -f1
psql "$RECOVERY_TEST_POSTGRES" -Atc "select 'synchronous_commit=' || current_setting('synchronous_commit') || ' fsync=' || current_setting('fsync')"
redis-server --version | cut -d' ' -f1-3
uptime

section "engine on the memory stores (go test -bench, count $((rounds * 2)))"
go test -run '^$' -bench . -benchmem -count $((rounds * 2)) ./recovery/ >"$tmp/memory.txt"
benchstat "$tmp/memory.txt"

section "Postgres: Go benchmarks (store/pgxstore, -benchtime 5s)"
(cd store/pgxstore && go test -run '^$' -bench 'Benchmark(Recover|Confirm|CodeStore)$' -benchtime 5s . | grep -E '^Benchmark')

section "Postgres: next to pgbench's floor, interleaved ($rounds rounds)"
(cd store/pgxstore && sh testdata/compare.sh "$RECOVERY_TEST_POSTGRES" "$rounds" 5)

section "Redis: next to redis-benchmark's floor, interleaved ($rounds rounds)"
bash store/redisstore/bench.sh "$rounds"

for store in redis postgres; do
  section "examples/server over HTTP vs the HTTP floor ($store)"
  go run ./examples/loadtest -store "$store" -n 300 -c 8 -floor -floor-c 1,32 -floor-duration 10s
done
