#!/usr/bin/env bash
# report.sh: reruns every measurement of the README's performance section on
# this machine and rewrites its tables, in place, from that one run (the
# parts between <!-- perf:NAME --> and <!-- /perf:NAME --> in README.md;
# examples/loadtest/perfreport does the parsing and the writing). From the
# module root:
#
#   bash examples/loadtest/report.sh [rounds]          # the full report (rounds: 3)
#   REPORT_QUICK=1 bash examples/loadtest/report.sh    # one short round: checks the
#                                                      # report end to end, figures unusable
#
# The full report takes about 25 minutes on a quiet 2-core machine (the
# quick one about 4; twice as long on a busy machine). REPORT_KEEP=DIR
# keeps the raw outputs in DIR; REPORT_README=FILE rewrites
# FILE instead of README.md. Needs Postgres and Redis (RECOVERY_TEST_POSTGRES
# / RECOVERY_TEST_REDIS, or the local defaults; bench.sh uses the Redis at
# 127.0.0.1:6379), psql, pgbench, redis-cli and redis-benchmark. Run it on a
# quiet machine: client, servers and databases share the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
quick=${REPORT_QUICK:-}
[ -n "$quick" ] && rounds=1
readme=${REPORT_README:-README.md}
export RECOVERY_TEST_POSTGRES=${RECOVERY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export RECOVERY_TEST_REDIS=${RECOVERY_TEST_REDIS:-redis://127.0.0.1:6379/0}

missing=
need() { # command, how to install it
  command -v "$1" >/dev/null || { echo "report.sh: $1 not found; install it: $2" >&2; missing=1; }
}
need go "https://go.dev/dl/"
need psql "apt-get install postgresql-client (Debian/Ubuntu), brew install libpq"
need pgbench "apt-get install postgresql-NN (Debian/Ubuntu ship pgbench in the server package of version NN), brew install postgresql"
need redis-cli "apt-get install redis-tools (Debian/Ubuntu), brew install redis"
need redis-benchmark "apt-get install redis-tools (Debian/Ubuntu), brew install redis"
need bc "apt-get install bc"
[ -z "$missing" ] || exit 1
psql "$RECOVERY_TEST_POSTGRES" -Atc 'select 1' >/dev/null ||
  { echo "report.sh: no Postgres at RECOVERY_TEST_POSTGRES=$RECOVERY_TEST_POSTGRES" >&2; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null ||
  { echo "report.sh: no Redis at 127.0.0.1:6379" >&2; exit 1; }

if [ -n "${REPORT_KEEP:-}" ]; then
  out=$REPORT_KEEP; mkdir -p "$out"
else
  out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
fi
start=$(date +%s)
failed=()

# step NAME FILE COMMAND...: runs the command, its output shown and saved in
# FILE; a failed step's file is set aside, so that its table keeps the
# README's current figures, and the run goes on.
step() {
  local name=$1 file=$out/$2 t0=$SECONDS; shift 2
  printf '\n## %s\n\n' "$name"
  if ! "$@" 2>&1 | tee "$file"; then
    mv "$file" "$file.failed"; failed+=("$name")
  fi
  echo "($name: $((SECONDS - t0)) s)"
}
# loadtest NAME ARGS...: one examples/loadtest run, its figures in NAME.json.
loadtest() {
  local name=$1 t0=$SECONDS; shift
  printf '\n## loadtest %s\n\n' "$name"
  if ! "$out/loadtest" -json "$out/$name.json" "$@" 2>&1 | tee "$out/$name.txt"; then
    failed+=("loadtest $name") # its JSON holds the error, which the table notes
  fi
  echo "(loadtest $name: $((SECONDS - t0)) s)"
}

if [ -n "$quick" ]; then
  memflags=(-count 1 -benchtime 100ms); pgxtime=200ms; cmpsecs=1; redis_n=2000
  smtpflags=(-count 1 -benchtime 200ms)
  http=(-n 30 -c 4 -floor -floor-c 1,8 -floor-duration 1s -floor-users 2000)
  burst=(-n 300 -users 300 -c 8 -confirm=false)
  path=(-n 20 -confirm=false -floor -floor-c 1,8 -floor-duration 1s -floor-users 2000)
else
  memflags=(-count $((rounds * 2))); pgxtime=5s; cmpsecs=5; redis_n=30000
  smtpflags=(-count "$rounds")
  http=(-n 300 -c 8 -floor -floor-c 1,32 -floor-duration 10s)
  # A different user per request: a delivery that waits behind a newer code
  # of its user is dropped as superseded (by design), which would count as
  # lost mail here.
  burst=(-n 10000 -users 10000 -c 32 -confirm=false)
  path=(-n 100 -confirm=false -floor -floor-c 1,32 -floor-duration 5s -floor-users 12000)
fi

{
  echo "cores: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "go: $(go env GOVERSION)"
  echo "postgres: $(psql "$RECOVERY_TEST_POSTGRES" -Atc "select split_part(version(), ' ', 1) || ' ' || split_part(version(), ' ', 2) || ' (synchronous_commit=' || current_setting('synchronous_commit') || ', fsync=' || current_setting('fsync') || ')'")"
  echo "redis: Redis $(redis-cli -h 127.0.0.1 -p 6379 info server | sed -n 's/^redis_version:\([^\r]*\).*/\1/p')$(
    redis-cli -h 127.0.0.1 -p 6379 config get appendonly 2>/dev/null | awk 'NR == 2 {printf " (appendonly=%s)", $1}')"
  echo "date: $(date -u +%F)"
  [ -z "$quick" ] || echo "quick: yes"
} >"$out/machine.txt"
cat "$out/machine.txt"
echo "load: $(uptime)"

step "engine on the memory stores" memory.txt \
  go test -run '^$' -bench . -benchmem "${memflags[@]}" ./recovery/
step "Postgres: Go benchmarks" pgx.txt \
  sh -c "cd store/pgxstore && exec go test -run '^\$' -bench 'Benchmark(Recover|RecoverOwnUserStore|Confirm|CodeStore)\$' -benchmem -benchtime $pgxtime ."
step "Postgres: next to pgbench's floor, interleaved" compare.txt \
  sh -c "cd store/pgxstore && exec sh testdata/compare.sh \"\$RECOVERY_TEST_POSTGRES\" $rounds $cmpsecs"
step "Redis: next to redis-benchmark's floor, interleaved" redis.txt \
  env REDIS_BENCH_N=$redis_n bash store/redisstore/bench.sh "$rounds"
step "SMTP: the pool next to net/smtp" smtp.txt \
  go test -run '^$' -bench 'BenchmarkSend' -benchmem "${smtpflags[@]}" ./delivery/smtpsender/

go build -o "$out/loadtest" ./examples/loadtest
for store in memory redis postgres; do
  # Each floor user takes at most 4 requests, and each concurrency gets
  # half of them; on a fast day a 10 s run at c=32 makes about 210,000
  # requests on memory, 95,000 on Redis and 33,000 on Postgres.
  users=()
  if [ -z "$quick" ]; then
    case $store in
      memory) users=(-floor-users 100000) ;;
      redis) users=(-floor-users 48000) ;;
      postgres) users=(-floor-users 20000) ;;
    esac
  fi
  loadtest "http-$store" -store "$store" "${http[@]}" "${users[@]}"
done
for store in postgres redis; do
  for queue in auto async; do
    loadtest "burst-$store-$queue" -store "$store" -queue "$queue" "${burst[@]}"
  done
done
for store in redis postgres; do
  users=()
  # 5 s runs: about 45,000 requests at c=32 on Redis.
  [ "$store" = redis ] && [ -z "$quick" ] && users=(-floor-users 24000)
  for queue in async auto; do
    loadtest "path-$store-$queue" -store "$store" -queue "$queue" "${path[@]}" "${users[@]}"
  done
done

echo "minutes: $(( ($(date +%s) - start + 30) / 60 ))" >>"$out/machine.txt"
printf '\n## %s\n\n' "rewriting $readme"
go run ./examples/loadtest/perfreport -dir "$out" -readme "$readme" || failed+=("perfreport (see above: its tables kept their figures)")
echo "report.sh: took $(( $(date +%s) - start )) s; raw outputs in $out${REPORT_KEEP:+ (kept)}"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'report.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
