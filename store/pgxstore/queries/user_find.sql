-- user_find.sql: recovery.UserStore.FindUser, one statement.
-- Takes $1 pool, $2 the folded identifier (recovery.UserQuery.Key).
-- Returns at most one row: sub, username, enabled, status, email,
-- email_verified, phone_number, phone_number_verified, preferred_username,
-- attributes, sms_mfa, email_mfa of the user whose username_key, else
-- sub_key, else alias (preferred_username, verified email, verified
-- phone_number) is $2. Each branch is index probes on both of its key
-- columns (the alias branch looks the alias up first, then the user by its
-- primary key), whatever the table's statistics.
SELECT sub, username, enabled, status, email, email_verified, phone_number,
    phone_number_verified, preferred_username, attributes, sms_mfa, email_mfa
FROM (
    SELECT 0 AS rank, u.* FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.username_key = $2
    UNION ALL
    SELECT 1, u.* FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.sub_key = $2
    UNION ALL
    SELECT 2, u.* FROM /* TEMPLATE: schema */recovery_users u
    WHERE u.pool = $1 AND u.sub = (
        SELECT a.sub FROM /* TEMPLATE: schema */recovery_user_aliases a
        WHERE a.alias_key = $2 AND a.pool = $1)
) m
ORDER BY rank
LIMIT 1
