-- user_upsert.sql: UserStore.UpsertUser, one statement.
-- Takes the 19 parameters of recovery_upsert_user in
-- migrations/001_init.up.sql, in its order.
-- Returns one row, one text column: the user's sub.
SELECT /* TEMPLATE: schema */recovery_upsert_user($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
