-- user_password_hash.sql: UserStore.PasswordHash, one statement.
-- Takes $1 pool, $2 the folded identifier.
-- Returns at most one row, one text column: the current password hash
-- (NULL: none) of the user FindUser would find for $2.
SELECT password_hash
FROM (
    SELECT 0 AS rank, u.password_hash FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.username_key = $2
    UNION ALL
    SELECT 1, u.password_hash FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.sub_key = $2
    UNION ALL
    SELECT 2, u.password_hash FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.sub = (
        SELECT a.sub FROM /* TEMPLATE: schema */recovery_user_aliases a
        WHERE a.alias_key = $2 AND a.pool = $1)
) m
ORDER BY rank
LIMIT 1
