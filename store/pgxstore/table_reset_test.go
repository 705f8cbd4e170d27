package pgxstore_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestTableUserStoreRequirePasswordReset: with a Status column the status
// becomes RESET_REQUIRED and the hash stays; without one the hash is
// cleared. Either way the reset's SetPassword ends it.
func TestTableUserStoreRequirePasswordReset(t *testing.T) {
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	table := accounts(t, pool, opts.Schema)
	ctx := t.Context()
	q := pgx.Identifier{opts.Schema, "accounts"}.Sanitize()
	if _, err := pool.Exec(ctx, `ALTER TABLE `+q+` ADD COLUMN status text NOT NULL DEFAULT 'CONFIRMED'`); err != nil {
		t.Fatal(err)
	}
	base := pgxstore.Table{Name: table, Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash"}
	withStatus := base
	withStatus.Status = "status"
	for _, c := range []struct {
		name      string
		table     pgxstore.Table
		sub       string
		status    recovery.UserStatus
		keepsHash bool
	}{
		{"status column", withStatus, "1", recovery.StatusResetRequired, true},
		{"no status column", base, "3", recovery.StatusConfirmed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			users, err := pgxstore.NewTableUserStore(ctx, pool, c.table)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := users.StoredPasswordHash(ctx, "default", c.sub)
			for range 2 {
				if err := users.RequirePasswordReset(ctx, "default", c.sub); err != nil {
					t.Fatalf("RequirePasswordReset: %v", err)
				}
			}
			u, err := users.FindUser(ctx, "default", recovery.UserQuery{Key: map[string]string{"1": "alice@example.com", "3": "42"}[c.sub]})
			if err != nil || u.Sub != c.sub || u.Status != c.status {
				t.Fatalf("FindUser after the reset = %+v, %v; want sub %s with status %s", u, err, c.sub, c.status)
			}
			h, err := users.StoredPasswordHash(ctx, "default", c.sub)
			if err != nil || (h == before) != c.keepsHash || before == "" {
				t.Fatalf("hash after the reset = %q, %v (before %q); want it kept: %v", h, err, before, c.keepsHash)
			}
			if err := users.SetPassword(ctx, "default", recovery.PasswordChange{Sub: c.sub, PasswordHash: "new", Status: recovery.StatusConfirmed}); err != nil {
				t.Fatal(err)
			}
			u, _ = users.FindUser(ctx, "default", recovery.UserQuery{Key: map[string]string{"1": "alice@example.com", "3": "42"}[c.sub]})
			if h, _ := users.StoredPasswordHash(ctx, "default", c.sub); h != "new" || u.Status != recovery.StatusConfirmed {
				t.Fatalf("after SetPassword: hash %q, status %s", h, u.Status)
			}
			for _, sub := range []string{"999", "x1"} {
				if err := users.RequirePasswordReset(ctx, "default", sub); !errors.Is(err, recovery.ErrUserNotFound) {
					t.Fatalf("RequirePasswordReset(%q): %v, want ErrUserNotFound", sub, err)
				}
			}
		})
	}
}
