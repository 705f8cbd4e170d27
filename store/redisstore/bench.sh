#!/usr/bin/env bash
# bench.sh: compares the Go benchmarks of this package (through the engine
# and the store alone) with redis-benchmark running the same scripts, at
# concurrency 1 and 50, on the same machine. See BENCH.md.
#
# Usage: bash store/redisstore/bench.sh [rounds]   (from the module root)
# Needs a Redis at 127.0.0.1:6379 it may write rkbench:* keys to (it deletes
# them afterwards) and redis-cli / redis-benchmark.
set -euo pipefail
rounds=${1:-3}
# REDIS_BENCH_N: operations per Go benchmark and redis-benchmark run at
# c=1 (c=50 runs 10/3 as many); smaller for a quick check.
n=${REDIS_BENCH_N:-30000}
H=127.0.0.1
P=6379
dir=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/redisstore-bench.XXXXXX")
trap 'rm -rf "$out"; cleanup' EXIT
cleanup() { redis-cli -h $H -p $P --scan --pattern 'rkbench:*' | xargs -r -n 1000 redis-cli -h $H -p $P unlink >/dev/null; }

# The arguments the engine passes with its default policy: Now, Window 1h,
# Budget 5, Cooldown 24h, MaxFailures 100, FailureBudget 5; a 32-byte hash;
# expiry Now+1h.
NOW=1767323045678
EXP=$((NOW + 3600000))
HASH=0123456789abcdef0123456789abcdef
# As scripts.go does: record.lua, then the script.
ISSUE=$(redis-cli -h $H -p $P SCRIPT LOAD "$(cat "$dir/record.lua"; echo; cat "$dir/issue.lua")")
CHECK=$(redis-cli -h $H -p $P SCRIPT LOAD "$(cat "$dir/record.lua"; echo; cat "$dir/check.lua")")
KEY='rkbench:floor:code:{default|u:__rand_int__}'
USERS=300000

# Records for the check floor: USERS users with a current code, named the
# way redis-benchmark names __rand_int__ (12 digits).
populate() {
  redis-cli -h $H -p $P EVAL "for i = 0, tonumber(ARGV[1]) - 1 do
      local k = string.format('rkbench:floor:code:{default|u:%012d}', i)
      redis.call('HSET', k, 'h', ARGV[2], 'k', 'k1', 'x', ARGV[3], 'e', ARGV[4], 'd', ARGV[3])
      redis.call('PEXPIRE', k, 3600000)
    end
    return 1" 0 $USERS $HASH $EXP $NOW >/dev/null
}

floor() { # floor NAME CLIENTS REQUESTS COMMAND...
  local name=$1 c=$2 n=$3; shift 3
  redis-benchmark -h $H -p $P -c "$c" -n "$n" -r $USERS -q "$@" 2>&1 | tr '\r' '\n' |
    grep 'requests per second' | tail -1 | sed -E "s/.*: ([0-9.]+) requests per second.*/$name c=$c \1/" >>"$out/floor"
}

go test -c -o "$out/redisstore.test" ./store/redisstore/
for r in $(seq "$rounds"); do
  echo "round $r of $rounds" >&2
  cleanup
  floor issue 1 "$n" EVALSHA "$ISSUE" 1 "$KEY" $NOW 3600000 5 86400000 $HASH k1 $EXP 5
  floor issue 50 $((n * 10 / 3)) EVALSHA "$ISSUE" 1 "$KEY" $NOW 3600000 5 86400000 $HASH k1 $EXP 5
  cleanup; populate
  floor check 1 "$n" EVALSHA "$CHECK" 1 "$KEY" $NOW 3600000 5 86400000 100 1 k1 $HASH
  cleanup; populate
  floor check 50 $((n * 10 / 3)) EVALSHA "$CHECK" 1 "$KEY" $NOW 3600000 5 86400000 100 1 k1 $HASH
  cleanup
  (cd "$dir" && RECOVERY_TEST_REDIS=redis://$H:$P/0 "$out/redisstore.test" -test.run '^$' \
    -test.bench '^Benchmark(Recover|Confirm|CodeStore)$' -test.benchtime "${n}x" >"$out/round" 2>&1) ||
    { cat "$out/round" >&2; exit 1; }
  grep '^Benchmark' "$out/round" | tee -a "$out/go" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
gomed() { grep "^Benchmark$1-" "$out/go" | sed -E 's/.* ([0-9.]+) ops\/s.*/\1/' | median; }
fmed() { grep "^$1 c=$2 " "$out/floor" | awk '{print $3}' | median; }
echo
echo "redis-benchmark, each round:"; cat "$out/floor"
echo
printf '%-36s %10s %10s %7s\n' "median of $rounds rounds" "ops/s" "floor" "ratio"
for c in 1 50; do
  fi=$(fmed issue $c); fc=$(fmed check $c)
  for mode in plain autopipeline; do
    for row in "Recover/$mode/c=$c $fi" "Confirm/$mode/c=$c $fc" "CodeStore/issue/$mode/c=$c $fi"; do
      set -- $row
      g=$(gomed "$1")
      printf '%-36s %10.0f %10.0f %6.0f%%\n' "$1" "$g" "$2" "$(echo "100 * $g / $2" | bc -l)"
    done
  done
  printf '%-36s %10s %10.0f\n' "redis-benchmark issue.lua c=$c" "" "$fi"
  printf '%-36s %10s %10.0f\n' "redis-benchmark check.lua c=$c" "" "$fc"
done
