-- user_set_password_consuming.sql: recovery.CodeConsumingSetter's
-- SetPasswordConsuming, one statement and so one transaction.
-- Takes $1 to $10 as code_check.sql (pool, user_key, key ids, hashes,
-- consume, now, failure_budget, window, max_failures, cooldown), then
-- $11 sub, $12 the new password hash, $13 the new status.
-- Runs recovery_check and, only when it answers 1 (a match, consumed),
-- stores the password as user_set_password.sql does. When the code matched
-- but no user row was updated, recovery_abort rolls the whole statement
-- back, consumption included. Returns the check's outcome.
WITH c AS (
    SELECT /* TEMPLATE: codes_schema */recovery_check($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS outcome
), u AS (
    UPDATE /* TEMPLATE: schema */recovery_users SET
        password_history = CASE WHEN password_hash IS NULL THEN password_history
            ELSE (ARRAY[password_hash] || password_history)[1:23] END,
        password_hash = $12,
        status = $13,
        updated_at = now()
    WHERE pool = $1 AND sub = $11 AND (SELECT outcome FROM c) = 1
    RETURNING sub
)
SELECT CASE WHEN c.outcome = 1 AND NOT EXISTS (SELECT FROM u)
    THEN /* TEMPLATE: codes_schema */recovery_abort('pgxstore: the user to set the password of does not exist')
    ELSE c.outcome END
FROM c
