#!/bin/sh
# compare.sh: measures ops/s of pgxstore next to pgbench's floor
# (testdata/upsert.sql) in interleaved rounds, so that both see the same
# machine: on a shared machine the fsync rate can change several-fold
# within minutes, and only measurements taken side by side compare.
# Usage, from store/pgxstore:
#   sh testdata/compare.sh "$RECOVERY_TEST_POSTGRES" [rounds] [seconds]
# Each round runs, at concurrency 1 and then 16: pgbench (simple and
# prepared protocol), BenchmarkUpsertFloor (the same upsert through pgx),
# BenchmarkCodeStore/Issue and BenchmarkRecover; it prints one line per
# round and concurrency, in operations per second, with Issue and Recover
# as percentages of pgbench (simple protocol, as pgbench runs by default)
# and of the same upsert through pgx, then the median of each percentage.
set -eu
export PGOPTIONS='-c client_min_messages=warning'
db=$1
rounds=${2:-3}
secs=${3:-5}
bin=$(mktemp -d)/pgxstore.test
go test -c -o "$bin" .
psql -q "$db" -c 'DROP SCHEMA IF EXISTS pgxstore_pgbench CASCADE' -c 'CREATE SCHEMA pgxstore_pgbench'
trap 'psql -q "$db" -c "DROP SCHEMA IF EXISTS pgxstore_pgbench CASCADE"; rm -f "$bin"' EXIT
cat migrations/codes/0*.up.sql | sed "s#/\* TEMPLATE: schema \*/#pgxstore_pgbench.#g" | psql -q -v ON_ERROR_STOP=1 "$db"

pgb() { # concurrency threads mode
	pgbench -n -M "$3" -f testdata/upsert.sql -c "$1" -j "$2" -T "$secs" "$db" | awk '/^tps/ {printf "%.0f", $3}'
}
gob() { # benchmark
	RECOVERY_TEST_POSTGRES=$db "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "${secs}s" |
		awk '{for (i = 2; i < NF; i++) if ($(i+1) == "ops/s") printf "%.0f", $i}'
}
out=$(mktemp)
printf '%-5s %-4s %8s %8s %8s %8s %8s | %9s %9s %9s\n' round c pgb-simp pgb-prep pgx-flr Issue Recover Iss/pgb Rec/pgb Iss/flr
for r in $(seq "$rounds"); do
	for c in 1 16; do
		if [ "$c" = 1 ]; then j=1; mode=serial; else j=2; mode=c=16; fi
		simple=$(pgb "$c" "$j" simple)
		issue=$(gob "CodeStore/Issue/$mode\$")
		floor=$(gob "UpsertFloor/$mode\$")
		recover=$(gob "^BenchmarkRecover\$/^$mode\$")
		prep=$(pgb "$c" "$j" prepared)
		echo "$r $c $simple $prep $floor $issue $recover" | awk '{
			printf "%-5s %-4s %8s %8s %8s %8s %8s | %8.0f%% %8.0f%% %8.0f%%\n", $1, $2, $3, $4, $5, $6, $7, 100*$6/$3, 100*$7/$3, 100*$6/$5 }' | tee -a "$out"
	done
done
for c in 1 16; do
	for col in 9 10 11; do
		awk -v c="$c" -v col="$col" '$2 == c { gsub("%", "", $col); print $col }' "$out" | sort -n |
			awk -v c="$c" -v col="$col" '{ v[NR] = $1 } END {
				name = (col == 9 ? "Issue/pgbench" : col == 10 ? "Recover/pgbench" : "Issue/pgx-floor")
				printf "median c=%-2s %-16s %4.0f%%\n", c, name, (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2) }'
	done
done
rm -f "$out"
