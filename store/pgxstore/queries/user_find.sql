-- user_find.sql: recovery.UserStore.FindUser, one statement.
-- Takes $1 pool, $2 the folded identifier (recovery.UserQuery.Key).
-- Returns at most one row: sub, username, enabled, status, email,
-- email_verified, phone_number, phone_number_verified, preferred_username,
-- attributes, sms_mfa, email_mfa, decoy of the user whose username_key, else
-- sub_key, else alias (preferred_username, verified email, verified
-- phone_number) is $2. Each branch is index probes on both of its key
-- columns (the alias branch looks the alias up first, then the user by its
-- primary key), whatever the table's statistics.
--
-- The statement reads as many pages whoever $2 names, or nobody
-- (TestFindReadsAsMuchForNobody counts them), so that its timing does not
-- tell a known user from an unknown identifier: every probe is made
-- whether an earlier one matched or not; an alias that matches nobody reads
-- a row of the alias table all the same and still probes the primary key,
-- for the sub '' that no user has; and when nobody matches, the row
-- answered is a decoy (decoy true), the table's first row, read and sent
-- as a found user's would be. The caller must treat a decoy as nobody
-- found and use nothing of it.
WITH m AS (
    SELECT * FROM (
        SELECT 0 AS rank, u.* FROM /* TEMPLATE: schema */recovery_users u
        WHERE u.pool = $1 AND u.username_key = $2
        UNION ALL
        SELECT 1, u.* FROM /* TEMPLATE: schema */recovery_users u
        WHERE u.pool = $1 AND u.sub_key = $2
        UNION ALL
        SELECT 2, u.* FROM /* TEMPLATE: schema */recovery_users u
        WHERE u.pool = $1 AND u.sub = coalesce((
            SELECT a.sub FROM /* TEMPLATE: schema */recovery_user_aliases a
            WHERE a.alias_key = $2 AND a.pool = $1), (
            SELECT '' FROM /* TEMPLATE: schema */recovery_user_aliases decoy LIMIT 1), '') AND u.sub <> ''
    ) found
    ORDER BY rank
    LIMIT 1
)
SELECT sub, username, enabled, status, email, email_verified, phone_number,
    phone_number_verified, preferred_username, attributes, sms_mfa, email_mfa, false AS decoy
FROM m
UNION ALL
SELECT sub, username, enabled, status, email, email_verified, phone_number,
    phone_number_verified, preferred_username, attributes, sms_mfa, email_mfa, true
FROM (SELECT * FROM /* TEMPLATE: schema */recovery_users decoy LIMIT 1) d
WHERE NOT EXISTS (SELECT FROM m)
