#!/bin/sh
# pgbench.sh: runs testdata/upsert.sql with pgbench at concurrency 1 and 16
# on a schema pgxstore_pgbench made from migrations/codes/*.up.sql, then
# drops the schema. Usage, from store/pgxstore:
#   sh testdata/pgbench.sh "$RECOVERY_TEST_POSTGRES" [seconds] [pgbench options...]
set -eu
export PGOPTIONS='-c client_min_messages=warning'
db=$1
secs=${2:-10}
shift; [ $# -gt 0 ] && shift
psql -q "$db" -c 'DROP SCHEMA IF EXISTS pgxstore_pgbench CASCADE' -c 'CREATE SCHEMA pgxstore_pgbench'
trap 'psql -q "$db" -c "DROP SCHEMA IF EXISTS pgxstore_pgbench CASCADE"' EXIT
cat migrations/codes/0*.up.sql | sed "s#/\* TEMPLATE: schema \*/#pgxstore_pgbench.#g" | psql -q -v ON_ERROR_STOP=1 "$db"
pgbench -n -f testdata/upsert.sql -c 1 -j 1 -T "$secs" "$@" "$db" | grep -E '^(tps|latency average)'
pgbench -n -f testdata/upsert.sql -c 16 -j 2 -T "$secs" "$@" "$db" | grep -E '^(tps|latency average)'
