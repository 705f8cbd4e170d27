package riveroutbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/delivery/internal/outboxtest"
	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

var testKeys = []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}}

// testLogger shows River's and the outbox's errors only.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// testDB returns a pool on the test database and a fresh schema with
// River's tables, dropped when the test ends.
func testDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "riveroutbox_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // runs before the drop above
	if err := riveroutbox.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	return pool, schema
}

// fastOptions retry and poll quickly, for tests.
func fastOptions(schema string, maxAttempts int) riveroutbox.Options {
	return riveroutbox.Options{
		Keys: testKeys, Schema: schema, MaxAttempts: maxAttempts,
		BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond,
		PollInterval: 100 * time.Millisecond, AttemptTimeout: 5 * time.Second, Logger: testLogger,
	}
}

func newOutbox(t testing.TB, pool *pgxpool.Pool, opts riveroutbox.Options) *riveroutbox.Outbox {
	t.Helper()
	o, err := riveroutbox.New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o.Close(ctx)
	})
	return o
}

// rawJobs returns every column of every job that could hold a delivery's
// content, as text.
func rawJobs(t *testing.T, pool *pgxpool.Pool, schema string) [][]byte {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT args::text || ' ' || coalesce(errors::text, '') || ' ' || coalesce(metadata::text, '') || ' ' || coalesce(encode(unique_key, 'escape'), '') FROM "+
		pgx.Identifier{schema, "river_job"}.Sanitize()+" WHERE kind = $1", riveroutbox.Kind)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]byte, len(texts))
	for i, s := range texts {
		raw[i] = []byte(s)
	}
	return raw
}

func TestSuite(t *testing.T) {
	recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES")
	outboxtest.Run(t, func(t *testing.T) outboxtest.Storage {
		pool, schema := testDB(t)
		return outboxtest.Storage{
			Open: func(t *testing.T, cfg outboxtest.Config) outboxtest.Outbox {
				return newOutbox(t, pool, fastOptions(schema, cfg.MaxAttempts))
			},
			Raw: func(t *testing.T) [][]byte { return rawJobs(t, pool, schema) },
		}
	})
}

// With its default retries the outbox rides out a mail server that is down.
func TestMailOutage(t *testing.T) {
	pool, schema := testDB(t)
	outboxtest.MailOutage(t, func(t *testing.T, keys []recovery.Key) recovery.Outbox {
		o, err := riveroutbox.New(pool, riveroutbox.Options{Keys: keys, Schema: schema, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	})
}
