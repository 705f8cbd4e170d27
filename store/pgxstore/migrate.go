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

// migration is one versioned up file of Migrations.
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

// LatestVersion is the version of the newest migration in Migrations: the
// version Migrate brings a schema to.
var LatestVersion = func() int {
	ms, err := loadMigrations(Migrations)
	if err != nil {
		panic(err) // a broken embedded set; TestMigrationFiles catches it first
	}
	return len(ms)
}()

// migrateLockKey names the advisory lock that serializes Migrate per schema.
const migrateLockKey = "recoverykit/pgxstore/migrate:"

// Migrate brings opts.Schema to LatestVersion: it creates the schema if it
// does not exist, then applies, in order, each migration of Migrations not
// yet recorded in the schema's recovery_migrations table, recording it
// there. Everything happens in one transaction that first takes a
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
	opts, err := prepare("Migrate", db, opts)
	if err != nil {
		return err
	}
	ms, err := loadMigrations(Migrations)
	if err != nil {
		return err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return interpretError(ctx, "Migrate", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	if err := migrate(ctx, tx, opts.Schema, ms); err != nil {
		return interpretError(ctx, "Migrate", err)
	}
	return interpretError(ctx, "Migrate", tx.Commit(ctx))
}

func migrate(ctx context.Context, tx DBTX, schema string, ms []migration) error {
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
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+q+`recovery_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("creating %srecovery_migrations: %w", q, err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM "+q+"recovery_migrations")
	if err != nil {
		return fmt.Errorf("reading %srecovery_migrations: %w", q, err)
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
		return fmt.Errorf("reading %srecovery_migrations: %w", q, err)
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
		if _, err := tx.Exec(ctx, "INSERT INTO "+q+"recovery_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("recording %s: %w", m.name, err)
		}
	}
	return nil
}
