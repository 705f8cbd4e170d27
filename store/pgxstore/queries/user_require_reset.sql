-- user_require_reset.sql: UserStore.RequirePasswordReset, one statement.
-- Takes $1 pool, $2 sub.
-- Sets the user's status to RESET_REQUIRED and keeps the password hash (the
-- status is what stops sign-in; the reset's SetPassword replaces the hash).
-- Returns the updated row's sub, or no row when the user does not exist.
UPDATE /* TEMPLATE: schema */recovery_users SET
    status = 'RESET_REQUIRED',
    updated_at = now()
WHERE pool = $1 AND sub = $2
RETURNING sub
