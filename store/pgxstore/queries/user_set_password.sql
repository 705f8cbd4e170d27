-- user_set_password.sql: recovery.UserStore.SetPassword, one statement.
-- Takes $1 pool, $2 sub, $3 the new password hash, $4 the new status.
-- Moves the current hash (if any) to the front of password_history (kept to
-- 23 entries) and stores $3 and $4. Returns the updated row's sub, or no row
-- when the user does not exist.
UPDATE /* TEMPLATE: schema */recovery_users SET
    password_history = CASE WHEN password_hash IS NULL THEN password_history
        ELSE (ARRAY[password_hash] || password_history)[1:23] END,
    password_hash = $3,
    status = $4,
    updated_at = now()
WHERE pool = $1 AND sub = $2
RETURNING sub
