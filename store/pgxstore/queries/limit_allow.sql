-- limit_allow.sql: recovery.RequestLimiter.Allow, one statement.
-- Takes $1 pool, $2 keys (text[], distinct, sorted), $3 limits (integer[]),
-- $4 windows in milliseconds (bigint[]), $5 now in Unix milliseconds.
-- Returns one row, one boolean column: whether the request is allowed (and
-- was charged to every key). See recovery_allow in migrations/001_init.up.sql.
SELECT /* TEMPLATE: schema */recovery_allow($1, $2, $3, $4, $5)
