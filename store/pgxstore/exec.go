package pgxstore

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// queryRow runs a one-row statement and scans it into dest. A statement
// that failed before reaching the server (a pooled connection found dead
// as it was used) is tried once more, which cannot run it twice.
func queryRow(ctx context.Context, db DBTX, sql string, args []any, dest ...any) error {
	err := db.QueryRow(ctx, sql, args...).Scan(dest...)
	if retryable(ctx, err) {
		err = db.QueryRow(ctx, sql, args...).Scan(dest...)
	}
	return err
}

// exec runs a statement that returns no rows, with queryRow's retry.
func exec(ctx context.Context, db DBTX, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := db.Exec(ctx, sql, args...)
	if retryable(ctx, err) {
		tag, err = db.Exec(ctx, sql, args...)
	}
	return tag, err
}
