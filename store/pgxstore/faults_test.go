package pgxstore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestFaultLoad runs the fault suite on the code store and the user store
// of one pool. Each outage terminates the pool's backends with
// pg_terminate_backend, from a connection of its own, every 5 ms until it
// ends; the pool is never told and reconnects by itself.
func TestFaultLoad(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	t.Parallel()
	cfg := poolConfig(t, 8)
	app := "pgxstore-faults-" + randomSchema()[len("pgxstore_test_"):]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)

	killer := must[*pgx.Conn](t)(pgx.ConnectConfig(t.Context(), poolConfig(t, 1).ConnConfig))
	defer killer.Close(context.Background())
	var killed atomic.Int64
	cut, restore := recoverytest.Repeatedly(5*time.Millisecond, func() {
		var n int64
		// Only the backends of this test's pool: they carry its
		// application_name.
		err := killer.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
		if err != nil {
			t.Errorf("terminating backends: %v", err)
			return
		}
		killed.Add(n)
	})

	recoverytest.FaultLoad(t, recoverytest.FaultConfig{
		Codes:        codes,
		Users:        users,
		PasswordHash: users.PasswordHash,
		Events:       codeEvents(pool, opts.Schema),
		// The user store consumes the code in the transaction that sets
		// the password, so a Confirm cut off by a terminated backend can be
		// retried with its code.
		FailedConfirmsRetryable: true,
		Cut:                     cut,
		Restore:                 restore,
		MinOutage:               50 * time.Millisecond,
	})
	t.Logf("%d backends terminated", killed.Load())
	if killed.Load() == 0 {
		t.Error("no backend was terminated")
	}
}

// codeEvents reads the issue and failure times of a user's row in
// recovery_codes, for FaultConfig.Events.
func codeEvents(pool *pgxpool.Pool, schema string) func(ctx context.Context, p, userKey string) ([]time.Time, []time.Time, error) {
	q := "SELECT issues, misses FROM " + pgx.Identifier{schema, "recovery_codes"}.Sanitize() + " WHERE pool = $1 AND user_key = $2"
	return func(ctx context.Context, p, userKey string) ([]time.Time, []time.Time, error) {
		var issues, failures []time.Time
		err := pool.QueryRow(ctx, q, p, userKey).Scan(&issues, &failures)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, nil
		}
		return issues, failures, err
	}
}
