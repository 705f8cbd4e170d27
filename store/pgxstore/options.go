package pgxstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DBTX is what the stores run their statements on: a pool, one connection,
// or the caller's transaction. *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// satisfy it. Every store method is one statement, so on a pool each call is
// its own transaction; on a pgx.Tx it joins the caller's (which must be READ
// COMMITTED, PostgreSQL's default, for concurrent calls to wait for each
// other's row locks rather than fail with serialization errors).
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Beginner starts a transaction. *pgxpool.Pool, *pgx.Conn and pgx.Tx (as a
// savepoint) satisfy it; Migrate needs one.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// DefaultSchema is the schema the stores use when Options.Schema is empty.
const DefaultSchema = "public"

// maxIdentifier is PostgreSQL's longest identifier in bytes (NAMEDATALEN-1);
// longer names are silently truncated, which would make two schemas one.
const maxIdentifier = 63

// Options place the stores in the database. The zero value is valid: the
// tables (recovery_codes, recovery_limits, recovery_users,
// recovery_user_aliases, recovery_migrations) and functions (recovery_*)
// live in the public schema. The same Options must go to Migrate and to the
// stores that use what it created.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables and functions.
	// Default "public". Migrate creates it when it does not exist; give each
	// deployment (or each test) its own to keep them apart in one database.
	// Every row also carries the pool ID, so one schema serves any number
	// of user pools.
	Schema string
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	return o
}

// validate reports what is wrong with o (after defaults), saying what to
// change.
func (o Options) validate() error {
	switch {
	case len(o.Schema) > maxIdentifier:
		return fmt.Errorf("pgxstore: Options.Schema %q is %d bytes long; PostgreSQL truncates names to %d bytes, so choose a shorter one", o.Schema, len(o.Schema), maxIdentifier)
	case strings.ContainsRune(o.Schema, 0):
		return errors.New("pgxstore: Options.Schema contains a NUL byte, which PostgreSQL names cannot hold; remove it")
	}
	return nil
}

// prepare applies defaults, validates opts and checks db, for the
// constructors.
func prepare(what string, db any, opts Options) (Options, error) {
	opts = opts.WithDefaults()
	if db == nil {
		return opts, fmt.Errorf("pgxstore: %s: db is nil; pass a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx", what)
	}
	if err := opts.validate(); err != nil {
		return opts, err
	}
	return opts, nil
}
