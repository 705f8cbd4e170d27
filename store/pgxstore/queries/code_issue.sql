-- code_issue.sql: recovery.CodeStore.Issue, one statement.
-- Takes $1 pool, $2 user_key, $3 key_id, $4 hash, $5 expires_at, $6 now,
-- $7 budget, $8 failure_budget, $9 window, $10 max_failures, $11 cooldown.
-- Returns one row, one integer column: the recovery.Outcome (1 ok,
-- 4 limit exceeded, 5 locked). See recovery_issue in migrations/002_budgets.up.sql.
SELECT /* TEMPLATE: schema */recovery_issue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
