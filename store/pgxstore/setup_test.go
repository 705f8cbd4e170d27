package pgxstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// envPostgres names the variable that points the integration tests at a
// PostgreSQL server, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const envPostgres = "RECOVERY_TEST_POSTGRES"

// appName marks the test's connections in pg_stat_activity, so the fault
// test can terminate exactly those.
const appName = "pgxstore-test"

// poolConfig returns the configuration of a test pool (skipping the test
// when envPostgres is unset), with at most maxConns connections.
func poolConfig(t testing.TB, maxConns int32) *pgxpool.Config {
	t.Helper()
	url := recoverytest.RequireEnv(t, envPostgres)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("%s: %v", envPostgres, err)
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	return cfg
}

// openPool opens a pool from cfg, checks that the server answers and closes
// the pool when the test ends.
func openPool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", envPostgres, err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("%s is set but the server does not answer: %v", envPostgres, err)
	}
	return pool
}

// newPool opens a test pool of at most maxConns connections.
func newPool(t testing.TB, maxConns int32) *pgxpool.Pool {
	t.Helper()
	return openPool(t, poolConfig(t, maxConns))
}

// newSchema migrates a fresh schema with a random name and drops it when
// the test ends, so tests are isolated from each other and from anything
// else in the database.
func newSchema(t testing.TB, pool *pgxpool.Pool) pgxstore.Options {
	t.Helper()
	opts := pgxstore.Options{Schema: randomSchema()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Dropped even if Migrate fails half-way (it is one transaction, but
	// be safe).
	t.Cleanup(func() { dropSchema(t, pool, opts.Schema) })
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		t.Fatalf("Migrate(%q): %v", opts.Schema, err)
	}
	if err := pgxstore.MigrateUsers(ctx, pool, opts); err != nil {
		t.Fatalf("MigrateUsers(%q): %v", opts.Schema, err)
	}
	return opts
}

// randomSchema returns a schema name no other test uses.
func randomSchema() string {
	var b [6]byte
	rand.Read(b[:])
	return "pgxstore_test_" + hex.EncodeToString(b[:])
}

func dropSchema(t testing.TB, pool *pgxpool.Pool, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("dropping test schema %q: %v", schema, err)
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// queryCounter is a pgx.QueryTracer that counts statements (Query, QueryRow
// and Exec calls), for the queries/op metrics and the one-statement tests.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
