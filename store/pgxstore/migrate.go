package pgxstore

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// migration is one versioned up file of a track.
type migration struct {
	version int
	name    string // the file name
	sql     string // with its markers still in
}

var migrationName = regexp.MustCompile(`^([0-9]{3,})_([a-z0-9_]+)\.(up|down)\.sql$`)

// loadMigrations reads the up files of fsys in version order and checks
// the set: every file named NNN_name.up.sql or NNN_name.down.sql, versions
// 1, 2, 3... without gaps or repeats, and a down file for each up file.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var ups []migration
	downs := map[int]bool{}
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("pgxstore: migration file %q is not named NNN_name.up.sql or NNN_name.down.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if m[3] == "down" {
			downs[v] = true
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		ups = append(ups, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ups, func(a, b migration) int { return a.version - b.version })
	for i, m := range ups {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgxstore: migration %s has version %d, want %d (versions run 1, 2, 3... without gaps or repeats)", m.name, m.version, i+1)
		}
		if !downs[m.version] {
			return nil, fmt.Errorf("pgxstore: migration %s has no down file", m.name)
		}
	}
	if len(downs) != len(ups) {
		return nil, fmt.Errorf("pgxstore: %d down files for %d up files", len(downs), len(ups))
	}
	return ups, nil
}

// The versions Migrate and MigrateUsers bring a schema to: the newest
// migration of CodeMigrations and of UserMigrations (a test checks that
// they agree with the files).
const (
	CodeSchemaVersion = 2
	UserSchemaVersion = 1
)

// track is one versioned series of migrations and the table recording it.
type track struct {
	files   func() fs.FS
	history string // the table that records the applied versions
}

var (
	codesTrack = track{CodeMigrations, "recovery_migrations"}
	usersTrack = track{UserMigrations, "recovery_user_migrations"}
)

// migrateLockKey names the advisory lock that serializes Migrate per schema.
const migrateLockKey = "recoverykit/pgxstore/migrate:"

// Migrate brings opts.Schema to CodeSchemaVersion, with the tables and
// functions of the code store and the request limiter, and nothing else: it
// creates the schema if it does not exist, then applies, in order, each
// migration of CodeMigrations not yet recorded in the schema's
// recovery_migrations table, recording it there. The reference user tables
// come only with MigrateUsers. Everything happens in one transaction that first takes a
// transaction-scoped advisory lock for the schema, so Migrate is idempotent
// and safe to call from every instance at start-up: concurrent calls wait
// for each other, and all but the first find nothing to do. A schema at a
// newer version than this package knows is left alone.
//
// db is typically the *pgxpool.Pool the stores will use; a pgx.Tx works too
// (Migrate then runs in a savepoint, and the lock is held until the
// caller's transaction ends). The role needs CREATE on the database when
// the schema does not exist yet, and on the schema otherwise.
func Migrate(ctx context.Context, db Beginner, opts Options) error {
	return runTrack(ctx, "Migrate", db, opts, codesTrack)
}

// MigrateUsers brings opts.Schema to UserSchemaVersion of the reference
// user store (NewUserStore's recovery_users and recovery_user_aliases), as
// Migrate does for the code store, recording its versions in
// recovery_user_migrations. Call it only if your users live there rather
// than in a table of your own (NewTableUserStore).
func MigrateUsers(ctx context.Context, db Beginner, opts Options) error {
	return runTrack(ctx, "MigrateUsers", db, opts, usersTrack)
}

func runTrack(ctx context.Context, op string, db Beginner, opts Options, t track) error {
	opts, err := prepare(op, db, opts)
	if err != nil {
		return err
	}
	ms, err := loadMigrations(t.files())
	if err != nil {
		return err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return interpretError(ctx, op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	if err := migrate(ctx, tx, opts.Schema, t.history, ms); err != nil {
		return interpretError(ctx, op, err)
	}
	return interpretError(ctx, op, tx.Commit(ctx))
}

func migrate(ctx context.Context, tx DBTX, schema, history string, ms []migration) error {
	// One lock per schema for both tracks: the user track's
	// user_set_password_codes reads the code track's tables.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", migrateLockKey+schema); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
	// the schema exists; ask first.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return fmt.Errorf("looking for schema %q: %w", schema, err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("creating schema %q: %w", schema, err)
		}
	}
	q := qualifier(schema)
	table := q + history
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("creating %s: %w", table, err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", table, err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		// Without arguments pgx sends the file with the simple protocol,
		// which runs every statement in it.
		if _, err := tx.Exec(ctx, render(m.sql, schemaMarker, schema)); err != nil {
			return fmt.Errorf("applying %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("recording %s: %w", m.name, err)
		}
	}
	return nil
}
