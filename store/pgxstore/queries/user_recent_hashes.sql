-- user_recent_hashes.sql: recovery.PasswordHistory.RecentPasswordHashes.
-- Takes $1 pool, $2 sub.
-- Returns at most one row: password_hash (NULL: none), password_history
-- (newest first).
SELECT password_hash, password_history
FROM /* TEMPLATE: schema */recovery_users
WHERE pool = $1 AND sub = $2
