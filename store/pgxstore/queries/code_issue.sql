-- code_issue.sql: recovery.CodeStore.Issue, one statement.
-- Takes $1 pool, $2 user_key, $3 key_id, $4 hash, $5 expires_at, $6 now,
-- $7 budget, $8 window, $9 max_failures, $10 cooldown.
-- Returns one row, one integer column: the recovery.Outcome (1 ok,
-- 4 limit exceeded, 5 locked). See recovery_issue in migrations/001_init.up.sql.
SELECT /* TEMPLATE: schema */recovery_issue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
