-- codes/002_budgets.up.sql: the code store, version 2.
--
-- Issues and failed checks get budgets of their own (a code is issued only
-- while a failed check is still allowed, so every code sent can be
-- checked); a consumed code keeps its hash, marked used, so that Restore
-- can bring it back after a failed password change, while Revoke clears
-- the hash for good; and the rules every call starts with (the lock, the
-- budgets) are written once, in recovery_codes_gate, which recovery_issue
-- and recovery_check call.
--
-- Rows written by version 1 keep working: their events become issues (a
-- failure among them is counted as an issue for at most one more window).

ALTER TABLE /* TEMPLATE: schema */recovery_codes RENAME COLUMN events TO issues;
ALTER TABLE /* TEMPLATE: schema */recovery_codes
    ADD COLUMN misses timestamptz[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN /* TEMPLATE: schema */recovery_codes.issues IS 'issue times, ascending, at most Budget';
COMMENT ON COLUMN /* TEMPLATE: schema */recovery_codes.misses IS 'failed check times, ascending, at most FailureBudget';
COMMENT ON COLUMN /* TEMPLATE: schema */recovery_codes.used IS 'the current code was consumed (Restore can undo it); a revoked code has no hash';

DROP FUNCTION /* TEMPLATE: schema */recovery_check(text, text, text[], bytea[], boolean, timestamptz, integer, interval, integer, interval);
DROP FUNCTION /* TEMPLATE: schema */recovery_issue(text, text, text, bytea, timestamptz, timestamptz, integer, interval, integer, interval);
DROP FUNCTION /* TEMPLATE: schema */recovery_codes_lapse(timestamptz, timestamptz, timestamptz, integer, timestamptz, interval, interval);

-- recovery_codes_lapse(locked_until, code_expires_at, last_issue,
-- last_miss, failures, last_failure_at, window, cooldown) returns when a
-- record lapses: the latest of its lock's end, its code's expiry (used or
-- not; NULL for a revoked code), window after its latest issue and its
-- latest failure and, while it has a failure streak, cooldown after its
-- latest failure; -infinity when none applies. A single expression of
-- scalar arguments, so that the planner inlines it. (The helpers here are
-- inlinable SQL or PL/pgSQL: an SQL function that holds a query is planned
-- again on every call, which would double the cost of each call.)
CREATE FUNCTION /* TEMPLATE: schema */recovery_codes_lapse(
    p_locked_until timestamptz, p_code_expires_at timestamptz, p_last_issue timestamptz,
    p_last_miss timestamptz, p_failures integer, p_last_failure_at timestamptz,
    p_window interval, p_cooldown interval)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(greatest(
        p_locked_until,
        p_code_expires_at,
        p_last_issue + p_window,
        p_last_miss + p_window,
        CASE WHEN p_failures > 0 THEN p_last_failure_at + p_cooldown END
    ), '-infinity')
$$;

-- recovery_codes_charge(times, now, limit) returns times with now added,
-- in order, keeping the latest limit of them.
CREATE FUNCTION /* TEMPLATE: schema */recovery_codes_charge(p_times timestamptz[], p_now timestamptz, p_limit integer)
RETURNS timestamptz[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n integer := cardinality(p_times);
BEGIN
    IF n = 0 OR p_now >= p_times[n] THEN
        p_times := p_times || p_now;
    ELSE -- a clock behind the others'
        p_times := ARRAY(SELECT t FROM unnest(p_times || p_now) AS t ORDER BY t);
    END IF;
    n := cardinality(p_times);
    IF n > greatest(p_limit, 1) THEN
        p_times := p_times[n - greatest(p_limit, 1) + 1:n];
    END IF;
    RETURN p_times;
END
$$;

-- recovery_codes_gate(r, now, window, budget, failure_budget, issuing)
-- applies the rules every Issue and Check starts with: 1. the lock (5 while
-- it lasts; an ended lock is cleared with the streak), 2. the budgets
-- (times at or before now - window are forgotten; 4 when failure_budget
-- failures remain, or, when issuing, budget issues). It returns the
-- outcome, 0 when the call may go on, and r with those changes.
CREATE FUNCTION /* TEMPLATE: schema */recovery_codes_gate(
    INOUT r /* TEMPLATE: schema */recovery_codes, p_now timestamptz, p_window interval,
    p_budget integer, p_failure_budget integer, p_issuing boolean, OUT outcome integer)
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    k integer;
BEGIN
    outcome := 0;
    IF r.locked_until IS NOT NULL THEN
        IF p_now < r.locked_until THEN
            outcome := 5;
            RETURN;
        END IF;
        r.locked_until := NULL;
        r.failures := 0;
    END IF;
    -- Times are kept ascending: forget a prefix of each list.
    n := cardinality(r.issues);
    k := 1;
    WHILE k <= n AND r.issues[k] <= p_now - p_window LOOP
        k := k + 1;
    END LOOP;
    IF k > 1 THEN
        r.issues := r.issues[k:n];
    END IF;
    n := cardinality(r.misses);
    k := 1;
    WHILE k <= n AND r.misses[k] <= p_now - p_window LOOP
        k := k + 1;
    END LOOP;
    IF k > 1 THEN
        r.misses := r.misses[k:n];
    END IF;
    IF cardinality(r.misses) >= p_failure_budget OR (p_issuing AND cardinality(r.issues) >= p_budget) THEN
        outcome := 4;
    END IF;
END
$$;

-- recovery_issue(pool, user_key, key_id, hash, expires_at, now, budget,
-- failure_budget, window, max_failures, cooldown) is
-- recovery.CodeStore.Issue: it returns 5 (locked) or 4 (limit exceeded) and
-- changes nothing, or charges one issue at now, makes (key_id, hash,
-- expires_at) the current code, unused, and returns 1. Concurrent calls for
-- one user run one after the other (the row lock of the SELECT ... FOR UPDATE,
-- or the INSERT of a new row). A new row also reclaims up to two lapsed
-- rows of other users, so that storage stays bounded without a sweep.
CREATE FUNCTION /* TEMPLATE: schema */recovery_issue(
    p_pool text, p_user_key text, p_key_id text, p_hash bytea, p_expires_at timestamptz,
    p_now timestamptz, p_budget integer, p_failure_budget integer, p_window interval,
    p_max_failures integer, p_cooldown interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r /* TEMPLATE: schema */recovery_codes%ROWTYPE;
    existed boolean;
    gated record;
BEGIN
    FOR attempt IN 1..3 LOOP
        SELECT * INTO r FROM /* TEMPLATE: schema */recovery_codes
            WHERE pool = p_pool AND user_key = p_user_key FOR UPDATE;
        existed := FOUND;
        IF NOT existed OR p_now >= least(r.lapses_at, /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
                CASE WHEN r.hash IS NOT NULL THEN r.expires_at END, r.issues[cardinality(r.issues)],
                r.misses[cardinality(r.misses)], r.failures, r.last_failure_at, p_window, p_cooldown)) THEN
            -- Absent or lapsed: an empty record.
            r := ROW(p_pool, p_user_key, NULL, NULL, NULL, false, '{}', 0, NULL, NULL, '-infinity', '{}');
        END IF;
        gated := /* TEMPLATE: schema */recovery_codes_gate(r, p_now, p_window, p_budget, p_failure_budget, true);
        IF gated.outcome <> 0 THEN
            RETURN gated.outcome;
        END IF;
        r := gated.r;
        r.issues := /* TEMPLATE: schema */recovery_codes_charge(r.issues, p_now, p_budget);
        r.key_id := p_key_id;
        r.hash := p_hash;
        r.expires_at := p_expires_at;
        r.used := false;
        r.lapses_at := /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
            CASE WHEN r.hash IS NOT NULL THEN r.expires_at END, r.issues[cardinality(r.issues)],
            r.misses[cardinality(r.misses)], r.failures, r.last_failure_at, p_window, p_cooldown);

        IF existed THEN
            UPDATE /* TEMPLATE: schema */recovery_codes SET
                key_id = r.key_id, hash = r.hash, expires_at = r.expires_at, used = r.used,
                issues = r.issues, misses = r.misses, failures = r.failures,
                last_failure_at = r.last_failure_at, locked_until = r.locked_until, lapses_at = r.lapses_at
            WHERE pool = p_pool AND user_key = p_user_key;
            RETURN 1;
        END IF;

        INSERT INTO /* TEMPLATE: schema */recovery_codes VALUES (r.*)
            ON CONFLICT (pool, user_key) DO NOTHING;
        IF FOUND THEN
            DELETE FROM /* TEMPLATE: schema */recovery_codes
            WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM /* TEMPLATE: schema */recovery_codes
                    WHERE lapses_at <= p_now
                    ORDER BY lapses_at LIMIT 2 FOR UPDATE SKIP LOCKED))
                AND lapses_at <= p_now;
            RETURN 1;
        END IF;
        -- A concurrent call inserted the row after our SELECT: go round
        -- again, and this time lock it.
    END LOOP;
    RAISE EXCEPTION 'recovery_issue: the row of (%, %) kept appearing and disappearing', p_pool, p_user_key;
END
$$;

-- recovery_check(pool, user_key, key_ids, hashes, consume, now,
-- failure_budget, window, max_failures, cooldown) is
-- recovery.CodeStore.Check. key_ids and hashes are the candidates,
-- pairwise. It returns 5 (locked), 4 (limit exceeded) or 3 (expired: no
-- current unused code) and changes nothing, 1 on a match (with consume: the
-- code is marked used and the failure streak reset), or 2 on a mismatch,
-- which charges one failure and one streak step and sets the lock to now +
-- cooldown when the streak reaches max_failures.
CREATE FUNCTION /* TEMPLATE: schema */recovery_check(
    p_pool text, p_user_key text, p_key_ids text[], p_hashes bytea[], p_consume boolean,
    p_now timestamptz, p_failure_budget integer, p_window interval, p_max_failures integer, p_cooldown interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r /* TEMPLATE: schema */recovery_codes%ROWTYPE;
    gated record;
    matched boolean;
BEGIN
    SELECT * INTO r FROM /* TEMPLATE: schema */recovery_codes
        WHERE pool = p_pool AND user_key = p_user_key FOR UPDATE;
    IF NOT FOUND OR p_now >= least(r.lapses_at, /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
            CASE WHEN r.hash IS NOT NULL THEN r.expires_at END, r.issues[cardinality(r.issues)],
            r.misses[cardinality(r.misses)], r.failures, r.last_failure_at, p_window, p_cooldown)) THEN
        -- Absent or lapsed: as good as no code; nothing to write.
        RETURN CASE WHEN p_failure_budget <= 0 THEN 4 ELSE 3 END;
    END IF;
    gated := /* TEMPLATE: schema */recovery_codes_gate(r, p_now, p_window, 0, p_failure_budget, false);
    IF gated.outcome <> 0 THEN
        RETURN gated.outcome;
    END IF;
    r := gated.r;
    -- 3. The code.
    IF r.hash IS NULL OR r.used OR p_now >= r.expires_at THEN
        RETURN 3;
    END IF;
    matched := false;
    FOR i IN 1..coalesce(cardinality(p_key_ids), 0) LOOP
        IF p_key_ids[i] = r.key_id
                AND /* TEMPLATE: schema */recovery_hash_equal(p_hashes[i], r.hash) THEN
            matched := true;
        END IF;
    END LOOP;
    IF matched THEN
        IF NOT p_consume THEN
            RETURN 1;
        END IF;
        r.used := true;
        r.failures := 0;
    ELSE
        r.misses := /* TEMPLATE: schema */recovery_codes_charge(r.misses, p_now, p_failure_budget);
        r.failures := r.failures + 1;
        r.last_failure_at := p_now;
        IF r.failures >= p_max_failures THEN
            r.locked_until := p_now + p_cooldown;
        END IF;
    END IF;
    r.lapses_at := /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
            CASE WHEN r.hash IS NOT NULL THEN r.expires_at END, r.issues[cardinality(r.issues)],
            r.misses[cardinality(r.misses)], r.failures, r.last_failure_at, p_window, p_cooldown);
    UPDATE /* TEMPLATE: schema */recovery_codes SET
        used = r.used, issues = r.issues, misses = r.misses, failures = r.failures,
        last_failure_at = r.last_failure_at, locked_until = r.locked_until, lapses_at = r.lapses_at
    WHERE pool = p_pool AND user_key = p_user_key;
    RETURN CASE WHEN matched THEN 1 ELSE 2 END;
END
$$;

-- recovery_abort(message) raises an error with message, so that a single
-- statement can roll itself back (user_set_password_consuming.sql).
CREATE FUNCTION /* TEMPLATE: schema */recovery_abort(p_message text)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', p_message;
END
$$;
