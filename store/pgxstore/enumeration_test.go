package pgxstore_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestEnumerationTiming: with existence errors prevented and delivery
// asynchronous (a 20 ms sender behind asyncsender), Recover on the
// Postgres stores takes as long for a known user as for an unknown
// identifier. Each of the 2000 known users and 2000 unknown names is used
// once (and the first few once more to warm up), so the default budget
// never refuses.
func TestEnumerationTiming(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 2000
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)
	e, known, unknown := recoverytest.TimingEngine(t, users, codes, nil, n)
	// Plan the lookups on statistics of the seeded table, as in production.
	tables := pgx.Identifier{opts.Schema, "recovery_users"}.Sanitize() + ", " + pgx.Identifier{opts.Schema, "recovery_user_aliases"}.Sanitize()
	if _, err := pool.Exec(t.Context(), "ANALYZE "+tables); err != nil {
		t.Fatal(err)
	}
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if err := r.Leak(); err != nil {
		t.Error(err)
	}
}
