package pgxstore_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/timingcheck"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// pgStores: both stores in a fresh schema; once seeded, the tables are
// analyzed so that lookups are planned as in production.
func pgStores(t *testing.T) (recovery.UserStore, recovery.CodeStore, func()) {
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)
	analyze := func() {
		tables := pgx.Identifier{opts.Schema, "recovery_users"}.Sanitize() + ", " + pgx.Identifier{opts.Schema, "recovery_user_aliases"}.Sanitize()
		if _, err := pool.Exec(t.Context(), "ANALYZE "+tables); err != nil {
			t.Fatal(err)
		}
	}
	return users, codes, analyze
}

// TestEnumerationTiming: for a client that hides user existence, Recover
// on the Postgres stores takes as long for a known user as for an unknown
// identifier, whether the mail server is slow, a custom-message hook is
// slow, or the mail server fails; delivering on the request path shows the
// leak. A short run; RECOVERY_TEST_TIMING=1 runs 2000 samples.
func TestEnumerationTiming(t *testing.T) {
	timingcheck.Check(t, pgStores, 300)
}

func TestEnumerationTimingLong(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	timingcheck.Check(t, pgStores, 2000)
}
