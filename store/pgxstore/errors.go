package pgxstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/recoverykit/recoverykit/recovery"
)

// interpretError is the one place that turns what pgx returns into what the
// stores return. Every failure comes back wrapped with the operation's name
// ("pgxstore: Check: ..."), so errors.Is and errors.As still reach the
// driver's error (*pgconn.PgError, say). When ctx is done the error also
// wraps ctx.Err(), whatever pgx reported (a closed connection, a cancelled
// query), so callers can test for context.Canceled and
// context.DeadlineExceeded. A missing table or function, the sign of a
// schema that Migrate has not prepared, says so. The engine turns any of
// these into InternalErrorException; none of them carries a code, a hash or
// a password, only SQL states and object names.
func interpretError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("pgxstore: %s: %w (%w)", op, cerr, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case sqlstateUndefinedTable, sqlstateUndefinedFunction, sqlstateInvalidSchemaName:
			return fmt.Errorf("pgxstore: %s: %w (has pgxstore.Migrate run with the same Options.Schema? The reference user tables need MigrateUsers too)", op, err)
		}
	}
	return fmt.Errorf("pgxstore: %s: %w", op, err)
}

// The SQLSTATE codes the stores tell apart.
const (
	sqlstateUniqueViolation   = "23505"
	sqlstateUndefinedTable    = "42P01"
	sqlstateUndefinedFunction = "42883"
	sqlstateInvalidSchemaName = "3F000"
)

// The constraints whose violation means a username or an alias is taken.
const (
	constraintUsersPkey   = "recovery_users_pkey"
	constraintUsernameKey = "recovery_users_username_key_idx"
	constraintAliasesPkey = "recovery_user_aliases_pkey"
)

// interpretUserError is interpretError for the writes of the user store:
// a unique violation of the username (or sub) becomes an error wrapping
// recovery.ErrUsernameExists, one of an alias recovery.ErrAliasExists.
func interpretUserError(ctx context.Context, op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateUniqueViolation {
		switch pgErr.ConstraintName {
		case constraintUsersPkey, constraintUsernameKey:
			return fmt.Errorf("pgxstore: %s: %w", op, recovery.ErrUsernameExists)
		case constraintAliasesPkey:
			return fmt.Errorf("pgxstore: %s: %w", op, recovery.ErrAliasExists)
		}
	}
	return interpretError(ctx, op, err)
}

// retryable reports whether a failed statement never reached the server,
// so running it again cannot run it twice.
func retryable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && pgconn.SafeToRetry(err)
}
