-- limit_sweep.sql: removes expired request counters.
-- Takes $1 now, $2 the most rows to delete (NULL: no limit).
-- Deletes counters whose expires_at (the end of the window after the one
-- they last counted) is at or before now, skipping locked ones; returns no
-- rows (the command tag counts them).
DELETE FROM /* TEMPLATE: schema */recovery_limits
WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM /* TEMPLATE: schema */recovery_limits
        WHERE expires_at <= $1
        ORDER BY expires_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED))
    AND expires_at <= $1
