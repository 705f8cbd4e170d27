package pgxstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// base is the injected time of these tests.
var base = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// hk is a 32-byte stand-in for the engine's keyed hash of code.
func hk(code string) recovery.KeyedHash {
	sum := sha256.Sum256([]byte(code))
	return recovery.KeyedHash{KeyID: "k1", Hash: sum[:]}
}

var lenient = recovery.CodeLimits{Budget: 1000, FailureBudget: 1000, Window: time.Hour, MaxFailures: 1000, Cooldown: 15 * time.Minute}

func issue(t *testing.T, s recovery.CodeStore, user string, code recovery.KeyedHash, now, expires time.Time, l recovery.CodeLimits) recovery.Outcome {
	t.Helper()
	out, err := s.Issue(t.Context(), recovery.IssueParams{Pool: "p", UserKey: user, Code: code, ExpiresAt: expires, Now: now, Limits: l})
	if err != nil {
		t.Fatalf("Issue(%s) at %v: %v", user, now, err)
	}
	return out
}

func check(t *testing.T, s recovery.CodeStore, user string, code recovery.KeyedHash, now time.Time, consume bool, l recovery.CodeLimits) recovery.Outcome {
	t.Helper()
	out, err := s.Check(t.Context(), recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{code}, Consume: consume, Now: now, Limits: l})
	if err != nil {
		t.Fatalf("Check(%s) at %v: %v", user, now, err)
	}
	return out
}

func countRows(t *testing.T, pool *pgxpool.Pool, opts pgxstore.Options, table string) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM " + pgx.Identifier{opts.Schema, table}.Sanitize()
	if err := pool.QueryRow(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOptionsValidated(t *testing.T) {
	if _, err := pgxstore.NewCodeStore(nil, pgxstore.Options{}); err == nil || !strings.Contains(err.Error(), "db is nil") {
		t.Errorf("NewCodeStore(nil): error %v, want one saying db is nil", err)
	}
	long := strings.Repeat("s", 64)
	for name, f := range map[string]func() error{
		"NewCodeStore": func() error { _, err := pgxstore.NewCodeStore(fakeDB{}, pgxstore.Options{Schema: long}); return err },
		"NewLimiter":   func() error { _, err := pgxstore.NewLimiter(fakeDB{}, pgxstore.Options{Schema: long}); return err },
		"NewUserStore": func() error { _, err := pgxstore.NewUserStore(fakeDB{}, pgxstore.Options{Schema: long}); return err },
		"Migrate":      func() error { return pgxstore.Migrate(t.Context(), fakeDB{}, pgxstore.Options{Schema: long}) },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), "shorter") {
			t.Errorf("%s with a 64-byte schema: error %v, want one asking for a shorter name", name, err)
		}
	}
	if got := (pgxstore.Options{}).WithDefaults().Schema; got != pgxstore.DefaultSchema {
		t.Errorf("default schema %q, want %q", got, pgxstore.DefaultSchema)
	}
}

// fakeDB satisfies DBTX and Beginner without a server; the validation
// tests never reach it.
type fakeDB struct{}

func (fakeDB) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("fakeDB")
}
func (fakeDB) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("fakeDB")
}
func (fakeDB) QueryRow(context.Context, string, ...any) pgx.Row { return nil }
func (fakeDB) Begin(context.Context) (pgx.Tx, error)            { return nil, errors.New("fakeDB") }

// TestMigrateConcurrentlyAndTwice runs Migrate from five goroutines at once
// on one new schema, then twice more: no call fails, and every migration is
// recorded once.
func TestMigrateConcurrentlyAndTwice(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	opts := pgxstore.Options{Schema: randomSchema()}
	t.Cleanup(func() { dropSchema(t, pool, opts.Schema) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { errs[i] = pgxstore.Migrate(ctx, pool, opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	for i := range 2 {
		if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
			t.Errorf("Migrate again (%d): %v", i+1, err)
		}
	}
	var n, latest int
	q := "SELECT count(*), max(version) FROM " + pgx.Identifier{opts.Schema, "recovery_migrations"}.Sanitize()
	if err := pool.QueryRow(ctx, q).Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if n != pgxstore.CodeSchemaVersion || latest != pgxstore.CodeSchemaVersion {
		t.Errorf("recovery_migrations holds %d rows up to version %d, want %d up to %d", n, latest, pgxstore.CodeSchemaVersion, pgxstore.CodeSchemaVersion)
	}
	// Migrate makes the code store's tables only.
	var users *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1)::text", opts.Schema+".recovery_users").Scan(&users); err != nil || users != nil {
		t.Errorf("Migrate created recovery_users (%v, %v): the reference user tables come with MigrateUsers only", users, err)
	}
	for i := range 2 {
		if err := pgxstore.MigrateUsers(ctx, pool, opts); err != nil {
			t.Fatalf("MigrateUsers (%d): %v", i+1, err)
		}
	}
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1)::text", opts.Schema+".recovery_users").Scan(&users); err != nil || users == nil {
		t.Errorf("MigrateUsers did not create recovery_users: %v", err)
	}

	// In the caller's transaction: rolled back, it leaves nothing.
	other := pgxstore.Options{Schema: randomSchema()}
	t.Cleanup(func() { dropSchema(t, pool, other.Schema) })
	tx := must[pgx.Tx](t)(pool.Begin(ctx))
	if err := pgxstore.Migrate(ctx, tx, other); err != nil {
		t.Fatalf("Migrate in a transaction: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", other.Schema).Scan(&exists); err != nil || exists {
		t.Errorf("schema of a rolled-back Migrate exists: %v, %v", exists, err)
	}
}

// countingDialer counts the writes on every connection of a pool: after a
// statement is prepared, pgx sends each execution in one write, so writes
// are round trips.
type countingDialer struct{ writes atomic.Int64 }

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c countingConn) Write(b []byte) (int, error) {
	c.d.writes.Add(1)
	return c.Conn.Write(b)
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countingConn{c, d}, nil
}

// TestOneStatementOneRoundTrip counts, per store call, the statements pgx
// runs (with a QueryTracer) and the writes on the socket.
func TestOneStatementOneRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := poolConfig(t, 1)
	var d countingDialer
	var q queryCounter
	cfg.ConnConfig.DialFunc = d.dial
	cfg.ConnConfig.Tracer = &q
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	limiter := must[*pgxstore.Limiter](t)(pgxstore.NewLimiter(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
	users = users.WithCodeStore(codes)
	alice := must[recovery.User](t)(users.UpsertUser(t.Context(), "p", recovery.User{Username: "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"}}, "h1"))

	now := base
	calls := []struct {
		name string
		call func() error
	}{
		{"Issue", func() error {
			_, err := codes.Issue(t.Context(), recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: hk("1"), ExpiresAt: now.Add(time.Hour), Now: now, Limits: lenient})
			return err
		}},
		{"Check", func() error {
			_, err := codes.Check(t.Context(), recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk("2"), hk("1")}, Now: now, Limits: lenient})
			return err
		}},
		{"Check with Consume", func() error {
			_, err := codes.Check(t.Context(), recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk("1")}, Consume: true, Now: now, Limits: lenient})
			return err
		}},
		{"Revoke", func() error { return codes.Revoke(t.Context(), "p", "u:1", hk("1")) }},
		{"Allow", func() error {
			_, err := limiter.Allow(t.Context(), recovery.LimitRequest{Pool: "p", Now: now, Keys: []recovery.LimitKey{
				{Key: "ip:192.0.2.1", Rate: recovery.Rate{Limit: 1 << 20, Window: time.Minute}},
				{Key: "client:web", Rate: recovery.Rate{Limit: 1 << 20, Window: time.Minute}}}})
			return err
		}},
		{"FindUser", func() error {
			_, err := users.FindUser(t.Context(), "p", recovery.UserQuery{Identifier: "alice", Key: "alice"})
			return err
		}},
		{"SetPassword with code invalidation", func() error {
			return users.SetPassword(t.Context(), "p", recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "h2", Status: recovery.StatusConfirmed})
		}},
	}
	for _, c := range calls {
		// The first run prepares the statement on the pool's one
		// connection (a round trip of its own); count the second.
		for run := range 2 {
			now = now.Add(time.Second)
			q.n.Store(0)
			d.writes.Store(0)
			if err := c.call(); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if run == 1 {
				if n := q.n.Load(); n != 1 {
					t.Errorf("%s ran %d statements, want 1", c.name, n)
				}
				if n := d.writes.Load(); n != 1 {
					t.Errorf("%s took %d round trips, want 1", c.name, n)
				}
			}
		}
	}
}

// TestDeadRecordsAreAbsent checks that a record whose deadlines have all
// passed behaves as an absent one, here a failure streak from hours ago,
// whether the row was swept, is still there, or had its code revoked (which
// leaves the stored lapses_at an upper bound).
func TestDeadRecordsAreAbsent(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	limits := recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	late := base.Add(3 * time.Hour)
	for _, c := range []struct {
		name     string
		lifetime time.Duration
		revoke   bool
		sweep    bool
	}{
		{"unswept", 10 * time.Minute, false, false},
		{"swept", 10 * time.Minute, false, true},
		{"revoked long-lived code", 24 * time.Hour, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, newSchema(t, pool)))
			issue(t, s, "u:1", hk("right"), base, base.Add(c.lifetime), limits)
			check(t, s, "u:1", hk("wrong"), base.Add(time.Minute), false, limits)
			check(t, s, "u:1", hk("wrong"), base.Add(2*time.Minute), false, limits)
			if c.revoke {
				if err := s.Revoke(t.Context(), "p", "u:1", hk("right")); err != nil {
					t.Fatal(err)
				}
			}
			if c.sweep {
				if n, err := s.SweepExpired(t.Context(), late, 0); err != nil || n != 1 {
					t.Fatalf("SweepExpired = %d, %v, want 1", n, err)
				}
			}
			if out := issue(t, s, "u:1", hk("new"), late, late.Add(time.Hour), limits); out != recovery.OutcomeOK {
				t.Fatalf("Issue after the record lapsed = %v", out)
			}
			for i := range 2 {
				if out := check(t, s, "u:1", hk("wrong"), late.Add(time.Duration(i+1)*time.Second), false, limits); out != recovery.OutcomeMismatch {
					t.Errorf("mismatch %d after the record lapsed = %v, want mismatch (the old streak of 2 must be forgotten)", i+1, out)
				}
			}
		})
	}
}

// TestReclaim checks that lapsed code rows and expired counters go away
// without a sweep, as new rows are made, and with SweepExpired.
func TestReclaim(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	limiter := must[*pgxstore.Limiter](t)(pgxstore.NewLimiter(pool, opts))
	limits := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	rate := recovery.Rate{Limit: 3, Window: time.Minute}
	allow := func(key string, now time.Time) {
		t.Helper()
		if ok, err := limiter.Allow(t.Context(), recovery.LimitRequest{Pool: "p", Now: now, Keys: []recovery.LimitKey{{Key: key, Rate: rate}}}); err != nil || !ok {
			t.Fatalf("Allow(%s): %v, %v", key, ok, err)
		}
	}
	for i := range 10 {
		issue(t, codes, fmt.Sprintf("u:old%d", i), hk("c"), base, base.Add(10*time.Minute), limits)
		allow(fmt.Sprintf("ip:old%d", i), base)
	}
	late := base.Add(2 * time.Hour)
	for i := range 5 {
		issue(t, codes, fmt.Sprintf("u:new%d", i), hk("c"), late, late.Add(10*time.Minute), limits)
		allow(fmt.Sprintf("ip:new%d", i), late)
	}
	if n := countRows(t, pool, opts, "recovery_codes"); n != 5 {
		t.Errorf("recovery_codes holds %d rows after 5 new users, want 5: each new row reclaims two of the 10 lapsed ones", n)
	}
	if n := countRows(t, pool, opts, "recovery_limits"); n != 5 {
		t.Errorf("recovery_limits holds %d rows after 5 new keys, want 5: each new counter reclaims two of the 10 expired ones", n)
	}
	later := late.Add(2 * time.Hour)
	if n, err := codes.SweepExpired(t.Context(), later, 3); err != nil || n != 3 {
		t.Errorf("SweepExpired(limit 3) = %d, %v, want 3", n, err)
	}
	if n, err := codes.SweepExpired(t.Context(), later, 0); err != nil || n != 2 {
		t.Errorf("SweepExpired(no limit) = %d, %v, want 2", n, err)
	}
	if n, err := limiter.SweepExpired(t.Context(), later, 0); err != nil || n != 5 {
		t.Errorf("Limiter.SweepExpired = %d, %v, want 5", n, err)
	}
}

// TestErrors checks what failures look like: wrapped, with the context's
// error when it is done, and pointing at Migrate for a schema it has not
// prepared.
func TestErrors(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	p := recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: hk("1"), ExpiresAt: base.Add(time.Hour), Now: base, Limits: lenient}

	unmigrated := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, pgxstore.Options{Schema: randomSchema()}))
	_, err := unmigrated.Issue(t.Context(), p)
	var pgErr *pgconn.PgError
	if err == nil || !strings.Contains(err.Error(), "Migrate") || !errors.As(err, &pgErr) {
		t.Errorf("Issue on an unmigrated schema: error %v, want a *pgconn.PgError mentioning Migrate", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := codes.Issue(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Issue with an expired deadline: error %v, want one wrapping context.DeadlineExceeded", err)
	}

	// A call that waits for a row lock held elsewhere times out cleanly.
	// With the default context handling pgx only closes the socket, and
	// the server may still run the statement once the lock is free; with a
	// cancel request (as the package documentation advises) it does not.
	cfg := poolConfig(t, 2)
	app := "pgxstore-cancel-" + randomSchema()[len("pgxstore_test_"):]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
	}
	cancelling := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(openPool(t, cfg), opts))
	if out := issue(t, codes, "u:1", hk("1"), base, base.Add(time.Hour), lenient); out != recovery.OutcomeOK {
		t.Fatal(out)
	}
	tx := must[pgx.Tx](t)(pool.Begin(t.Context()))
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "SELECT FROM "+pgx.Identifier{opts.Schema, "recovery_codes"}.Sanitize()+" FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = cancelling.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk("1")}, Consume: true, Now: base, Limits: lenient})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "pgxstore: Check: ") {
		t.Errorf("Check blocked on a row lock past its deadline: error %v, want \"pgxstore: Check: ...\" wrapping context.DeadlineExceeded", err)
	}
	waitNoLockWaiters(t, pool, app)
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := check(t, codes, "u:1", hk("1"), base.Add(time.Second), true, lenient); out != recovery.OutcomeOK {
		t.Errorf("Check after the lock was released = %v, want ok (the cancelled call must not have consumed the code)", out)
	}
}

// waitNoLockWaiters waits until no backend named app waits for a lock.
func waitNoLockWaiters(t *testing.T, pool *pgxpool.Pool, app string) {
	t.Helper()
	for range 100 {
		var n int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("a cancelled statement still waits for its lock after 2s")
}

// TestCallerTransaction runs the stores on a pgx.Tx: SetPassword with code
// invalidation is one statement, so a rollback undoes both halves and a
// commit keeps both.
func TestCallerTransaction(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	ctx := t.Context()
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
	alice := must[recovery.User](t)(users.UpsertUser(ctx, "p", recovery.User{Username: "alice"}, "h1"))
	key := recovery.UserKey(alice.Sub)
	if out := issue(t, codes, key, hk("1"), base, base.Add(time.Hour), lenient); out != recovery.OutcomeOK {
		t.Fatal(out)
	}
	change := recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "h2", Status: recovery.StatusConfirmed}

	tx := must[pgx.Tx](t)(pool.Begin(ctx))
	txCodes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(tx, opts))
	txUsers := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(tx, opts)).WithCodeStore(txCodes)
	if err := txUsers.SetPassword(ctx, "p", change); err != nil {
		t.Fatal(err)
	}
	if out, err := txCodes.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: key, Candidates: []recovery.KeyedHash{hk("1")}, Now: base, Limits: lenient}); err != nil || out != recovery.OutcomeExpired {
		t.Errorf("Check inside the transaction after SetPassword = %v, %v, want expired", out, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if h := must[string](t)(users.PasswordHash(ctx, "p", "alice")); h != "h1" {
		t.Errorf("password after rollback %q, want h1", h)
	}
	if out := check(t, codes, key, hk("1"), base.Add(time.Second), false, lenient); out != recovery.OutcomeOK {
		t.Errorf("Check after the rolled-back SetPassword = %v, want ok", out)
	}

	if err := users.WithCodeStore(codes).SetPassword(ctx, "p", change); err != nil {
		t.Fatal(err)
	}
	if h := must[string](t)(users.PasswordHash(ctx, "p", "ALICE")); h != "h2" {
		t.Errorf("password after SetPassword %q, want h2", h)
	}
	if out := check(t, codes, key, hk("1"), base.Add(2*time.Second), true, lenient); out != recovery.OutcomeExpired {
		t.Errorf("Check after SetPassword = %v, want expired: the outstanding code must be invalidated", out)
	}
	// Without WithCodeStore, SetPassword leaves codes alone.
	if out := issue(t, codes, key, hk("2"), base.Add(3*time.Second), base.Add(time.Hour), lenient); out != recovery.OutcomeOK {
		t.Fatal(out)
	}
	if err := users.SetPassword(ctx, "p", change); err != nil {
		t.Fatal(err)
	}
	if out := check(t, codes, key, hk("2"), base.Add(4*time.Second), false, lenient); out != recovery.OutcomeOK {
		t.Errorf("Check after SetPassword of a store without WithCodeStore = %v, want ok", out)
	}
}

// TestHashComparison checks recovery_hash_equal at the edges.
func TestHashComparison(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 2)
	opts := newSchema(t, pool)
	q := "SELECT " + pgx.Identifier{opts.Schema, "recovery_hash_equal"}.Sanitize() + "($1, $2)"
	for _, c := range []struct {
		a, b []byte
		want any
	}{
		{[]byte{1, 2, 3}, []byte{1, 2, 3}, true},
		{[]byte{1, 2, 3}, []byte{1, 2, 4}, false},
		{[]byte{0x80, 2, 3}, []byte{0, 2, 3}, false},
		{[]byte{1, 2, 3}, []byte{1, 2}, false},
		{[]byte{1, 2}, []byte{1, 2, 3}, false},
		{[]byte{}, []byte{}, true},
		{[]byte{}, []byte{0}, false},
		{nil, []byte{0}, nil},
	} {
		var got *bool
		if err := pool.QueryRow(t.Context(), q, c.a, c.b).Scan(&got); err != nil {
			t.Fatalf("recovery_hash_equal(%x, %x): %v", c.a, c.b, err)
		}
		var g any
		if got != nil {
			g = *got
		}
		if g != c.want {
			t.Errorf("recovery_hash_equal(%x, %x) = %v, want %v", c.a, c.b, g, c.want)
		}
	}
}

// TestUpgradeFromOneTrack: a schema migrated before the user tables had a
// track of their own holds them already, with version 1 recorded for the
// code store; Migrate and MigrateUsers bring it up to date without
// stumbling on what exists.
func TestUpgradeFromOneTrack(t *testing.T) {
	pool := newPool(t, 2)
	opts := pgxstore.Options{Schema: randomSchema()}
	t.Cleanup(func() { dropSchema(t, pool, opts.Schema) })
	ctx := t.Context()
	q := pgx.Identifier{opts.Schema}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+q+"; CREATE TABLE "+q+".recovery_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO "+q+".recovery_migrations (version, name) VALUES (1, '001_init.up.sql')"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		files fs.FS
		name  string
	}{{pgxstore.CodeMigrations(), "001_init.up.sql"}, {pgxstore.UserMigrations(), "001_init.up.sql"}} {
		b := must[[]byte](t)(fs.ReadFile(f.files, f.name))
		sql := strings.ReplaceAll(string(b), "/* TEMPLATE: schema */", q+".")
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		t.Fatalf("Migrate on a one-track schema: %v", err)
	}
	if err := pgxstore.MigrateUsers(ctx, pool, opts); err != nil {
		t.Fatalf("MigrateUsers on a schema that has the user tables: %v", err)
	}
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
	if _, err := users.CreateUser(ctx, "p", recovery.User{Username: "alice"}, ""); err != nil {
		t.Fatal(err)
	}
}
