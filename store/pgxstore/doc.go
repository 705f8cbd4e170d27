// Package pgxstore keeps the recovery engine's state in PostgreSQL through
// pgx v5: a recovery.CodeStore (CodeStore), a recovery.RequestLimiter
// (Limiter), a recovery.UserStore over the users table your service already
// has (TableUserStore), and a reference user store with tables of its own
// (UserStore). Any number of
// app instances can share one database: every call is one atomic statement,
// and every row carries the user pool ID, so one schema serves several
// pools.
//
// # Setting up
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	opts := pgxstore.Options{Schema: "recovery"} // default "public"
//	if err := pgxstore.Migrate(ctx, pool, opts); err != nil { ... } // codes and limits only
//	codes, err := pgxstore.NewCodeStore(pool, opts)
//	users, err := pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
//		Name: "accounts", Sub: "id", Email: "email", EmailVerified: "email_verified",
//		PasswordHash: "password_hash", Disabled: "disabled",
//	})
//	users = users.WithCodeStore(codes) // the code is consumed with the password change
//	limiter, err := pgxstore.NewLimiter(pool, opts)
//
// Migrate creates the code store's and the limiter's tables, nothing else.
// A service without a users table of its own calls MigrateUsers too and
// uses NewUserStore. Both are idempotent and safe to run from every
// instance at start-up (an advisory lock serializes them; applied versions
// are recorded in recovery_migrations and recovery_user_migrations). The
// stores take a DBTX: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx, so their
// statements can join a transaction of your own.
// A durable outbox on the same database (delivery/riveroutbox) has
// migrations of its own: run riveroutbox.Migrate beside Migrate.
//
// # Where the SQL is
//
// Every statement lives in a .sql file of this package with a header saying
// what it takes and returns. The schema, with the PL/pgSQL functions that
// implement the code store and the limiter, is in migrations/codes/ (for
// example migrations/codes/001_init.up.sql), exported as CodeMigrations()
// for migration tools of your own (golang-migrate, goose, Atlas, ...), and
// the reference user tables in migrations/users/ (UserMigrations()); each
// NNN_name.up.sql has a NNN_name.down.sql. Their table and function names
// carry a /* TEMPLATE: schema */ marker that Migrate replaces with the
// schema; replace it likewise, or leave it (it is a comment) and run the
// files with your schema first in search_path. The statements the Go code
// sends are in queries/.
//
// # Tables
//
// All names start with recovery_, so the default public schema is safe;
// Options.Schema puts them in a schema of their own instead.
//
//   - recovery_codes: one row per (pool, user_key), the recovery record of
//     recovery.CodeStore: key_id, hash, expires_at and used for the current
//     code; issues and misses, the times of the recent issues and failed
//     checks (timestamptz[], ascending, at most Budget and FailureBudget of
//     them); failures, last_failure_at and locked_until for the
//     failure streak; lapses_at, when the row can be forgotten, indexed for
//     the sweep.
//   - recovery_limits: one row per (pool, key), a request counter.
//   - recovery_users and recovery_user_aliases: the reference user store
//     (MigrateUsers); see UserStore.
//   - recovery_migrations and recovery_user_migrations: the applied
//     versions of each track.
//
// # One statement, one round trip
//
// CodeStore.Issue is SELECT recovery_issue(...) and CodeStore.Check is
// SELECT recovery_check(...): PL/pgSQL functions that lock the user's row
// (SELECT ... FOR UPDATE, or INSERT ... ON CONFLICT DO NOTHING for a new
// one), apply the rules of recovery.CodeStore in order (lock, budgets, code)
// and write the row back, inside the one statement. Under READ COMMITTED,
// PostgreSQL's default, concurrent calls for one user queue on the row lock
// and run one after the other; nothing can fail with a serialization error,
// so nothing is retried. Every time comes from the call's parameters, never
// from the server's clock. Hashes are compared with recovery_hash_equal,
// whose time does not depend on where two hashes differ. pgx prepares each
// statement once per connection and then sends it in a single round trip.
// Limiter.Allow, Revoke, FindUser, SetPassword, CreateUser and UpsertUser
// are one statement each too. A user store made by WithCodeStore also
// finds the user and issues the code in one statement
// (recovery.CodeIssuingFinder: the find query and recovery_issue, with the
// rule of recovery.FindIssueParams in SQL), so ForgotPassword is one round
// trip; without it, the lookup and the issue are two.
//
// With PgBouncer in transaction mode, set the pool's
// ConnConfig.DefaultQueryExecMode to pgx.QueryExecModeExec or
// QueryExecModeDescribeExec, since prepared statements do not survive a
// change of server connection.
//
// # Expired rows
//
// A code-store row lapses when its code has expired (or was used), its
// latest budget event has left the window, its lock has ended and Cooldown
// has passed since its latest failure. A lapsed row behaves as absent: it
// is deleted when its user calls again, each new row deletes up to two
// lapsed ones (so storage stays bounded even for identifiers that never
// come back), and CodeStore.SweepExpired (recovery.ExpiredSweeper) deletes
// them in bounded batches along the lapses_at index, for a periodic job.
// Request counters are reclaimed the same way (Limiter.SweepExpired).
//
// # Errors
//
// Outcomes are never errors. Any failure (a lost connection, a timeout, a
// cancelled context, a missing migration) comes back as an error
// "pgxstore: <operation>: ..." that wraps the driver's error and, when the
// context is done, the context's error; the engine answers
// InternalErrorException. pgxpool replaces broken connections by itself, so
// the stores work again as soon as PostgreSQL does.
//
// An error does not prove that the statement did not run: the connection
// may have failed after the server received it. Every rule is enforced by
// the server inside the statement, so this never makes a code valid twice or
// a wrong code valid; at worst a failed Check consumed its code or a failed
// Issue stored one. By default pgx answers a cancelled context by closing
// the connection, and a statement waiting for a row lock then still runs
// once the lock is free; to have the server abandon it, configure the pool
// to send a cancel request:
//
//	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
//		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 5 * time.Second}
//	}
//
// # Benchmarks
//
// BENCH.md beside this file has the commands that run the benchmarks
// against a real server next to pgbench (testdata/upsert.sql), and the
// numbers measured.
package pgxstore
