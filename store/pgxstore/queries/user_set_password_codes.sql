-- user_set_password_codes.sql: recovery.UserStore.SetPassword for a user
-- store that shares its database with a code store, one statement and so
-- one transaction.
-- Takes $1 pool, $2 sub, $3 the new password hash, $4 the new status,
-- $5 the user's code-store key (recovery.UserKey of $2).
-- Does what user_set_password.sql does and, only if the user exists, marks
-- the user's outstanding code used in the code store's recovery_codes.
-- Returns the updated row's sub, or no row when the user does not exist.
WITH u AS (
    UPDATE /* TEMPLATE: schema */recovery_users SET
        password_history = CASE WHEN password_hash IS NULL THEN password_history
            ELSE (ARRAY[password_hash] || password_history)[1:23] END,
        password_hash = $3,
        status = $4,
        updated_at = now()
    WHERE pool = $1 AND sub = $2
    RETURNING sub
), c AS (
    UPDATE /* TEMPLATE: codes_schema */recovery_codes SET used = true
    WHERE pool = $1 AND user_key = $5 AND NOT used AND EXISTS (SELECT FROM u)
)
SELECT sub FROM u
