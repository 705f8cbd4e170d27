-- user_stored_hash.sql: UserStore.StoredPasswordHash, one statement.
-- Takes $1 pool, $2 sub.
-- Returns at most one row, one text column: the current password hash
-- (NULL: none) of the user with exactly this sub.
SELECT password_hash FROM /* TEMPLATE: schema */recovery_users WHERE pool = $1 AND sub = $2
