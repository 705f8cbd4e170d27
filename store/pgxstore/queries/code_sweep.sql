-- code_sweep.sql: recovery.ExpiredSweeper.SweepExpired for the code store.
-- Takes $1 now, $2 the most rows to delete (NULL: no limit).
-- Deletes rows whose lapses_at is at or before now, oldest first, skipping
-- rows that a running call holds locked; returns no rows (the command tag
-- counts them). The outer condition is checked again on the row version the
-- DELETE finds, so a row that a concurrent call has just renewed survives.
DELETE FROM /* TEMPLATE: schema */recovery_codes
WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM /* TEMPLATE: schema */recovery_codes
        WHERE lapses_at <= $1
        ORDER BY lapses_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED))
    AND lapses_at <= $1
