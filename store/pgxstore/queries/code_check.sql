-- code_check.sql: recovery.CodeStore.Check, one statement.
-- Takes $1 pool, $2 user_key, $3 candidate key ids (text[]), $4 candidate
-- hashes (bytea[], pairwise with $3), $5 consume, $6 now, $7 failure_budget,
-- $8 window, $9 max_failures, $10 cooldown.
-- Returns one row, one integer column: the recovery.Outcome (1 ok,
-- 2 mismatch, 3 expired, 4 limit exceeded, 5 locked). See recovery_check in
-- migrations/002_budgets.up.sql.
SELECT /* TEMPLATE: schema */recovery_check($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
