package pgxstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/passwordhash"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// accounts creates the table of a service that has users of its own, in
// the test's schema, with two accounts, and returns its qualified name.
func accounts(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	table := schema + ".accounts"
	q := pgx.Identifier{schema, "accounts"}.Sanitize()
	old, _ := passwordhash.Bcrypt{Cost: 4}.Hash("Old-passw0rd!")
	for _, sql := range []string{
		`CREATE TABLE ` + q + ` (id bigserial PRIMARY KEY, email text NOT NULL, password_hash text, disabled boolean NOT NULL DEFAULT false)`,
		`CREATE UNIQUE INDEX ON ` + q + ` (lower(email))`,
		`INSERT INTO ` + q + ` (email, password_hash) VALUES ('Alice@Example.com', '` + old + `')`,
		`INSERT INTO ` + q + ` (email, password_hash, disabled) VALUES ('bob@example.com', '` + old + `', true)`,
		`INSERT INTO ` + q + ` (email, password_hash) VALUES ('42', '` + old + `')`,
	} {
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	return table
}

func TestTableUserStore(t *testing.T) {
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	table := accounts(t, pool, opts.Schema)
	ctx := t.Context()
	users, err := pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
		Name: table, Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified,
		PasswordHash: "password_hash", Disabled: "disabled",
	})
	if err != nil {
		t.Fatal(err)
	}
	find := func(id string) (recovery.User, error) {
		return users.FindUser(ctx, "default", recovery.UserQuery{Identifier: id, Key: recovery.FoldIdentifier(id)})
	}
	for _, id := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"} {
		u, err := find(id)
		if err != nil || u.Sub != "1" || u.Disabled || u.Attributes["email"] != "Alice@Example.com" || u.Attributes["email_verified"] != "true" || u.Status != recovery.StatusConfirmed {
			t.Fatalf("FindUser(%s) = %+v, %v", id, u, err)
		}
	}
	if u, err := find("bob@example.com"); err != nil || !u.Disabled {
		t.Fatalf("the disabled account: %+v, %v", u, err)
	}
	// Without FindBySub, "1" is no identifier of account 1; "42" is an
	// address of account 3.
	if _, err := find("1"); !errors.Is(err, recovery.ErrUserNotFound) {
		t.Fatalf(`FindUser("1") without FindBySub: %v`, err)
	}
	if u, err := find("42"); err != nil || u.Sub != "3" {
		t.Fatalf(`FindUser("42"): %+v, %v`, u, err)
	}
	bySub, _ := pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
		Name: table, Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash", FindBySub: true,
	})
	if u, err := bySub.FindUser(ctx, "default", recovery.UserQuery{Identifier: "1", Key: "1"}); err != nil || u.Sub != "1" {
		t.Fatalf(`FindUser("1") with FindBySub: %+v, %v`, u, err)
	}
	if _, err := bySub.FindUser(ctx, "default", recovery.UserQuery{Identifier: "x1", Key: "x1"}); !errors.Is(err, recovery.ErrUserNotFound) {
		t.Fatalf("a key that is no id, with FindBySub: %v", err)
	}
	if err := users.SetPassword(ctx, "default", recovery.PasswordChange{Sub: "999", PasswordHash: "x"}); !errors.Is(err, recovery.ErrUserNotFound) {
		t.Fatalf("SetPassword of no account: %v", err)
	}
}

func TestTableUserStoreRefusesBadTables(t *testing.T) {
	pool := newPool(t, 1)
	opts := newSchema(t, pool)
	table := accounts(t, pool, opts.Schema)
	for _, tc := range []struct {
		t    pgxstore.Table
		want string
	}{
		{pgxstore.Table{Name: table, Sub: "id", Email: "email", PasswordHash: "password_hash"}, "EmailVerified is empty"},
		{pgxstore.Table{Name: table, Sub: "id", Email: "mail", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash"}, `no column "mail"`},
		{pgxstore.Table{Name: table, Sub: "id", Email: "email", EmailVerified: "email", PasswordHash: "password_hash"}, "not boolean"},
		{pgxstore.Table{Name: opts.Schema + ".nope", Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash"}, "does not exist"},
		{pgxstore.Table{Name: "accounts; DROP TABLE x", Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "p"}, "use a table name"},
		{pgxstore.Table{Name: table, Sub: "id", PasswordHash: "password_hash"}, "at least one column"},
	} {
		if _, err := pgxstore.NewTableUserStore(t.Context(), pool, tc.t); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %q", tc.t, err, tc.want)
		}
	}
}

// Through the engine, with the code store in the same database: the reset
// consumes the code and sets the bcrypt-era account's password in one
// statement.
func TestTableUserStoreWithEngine(t *testing.T) {
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	table := accounts(t, pool, opts.Schema)
	ctx := context.Background()
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	base := must[*pgxstore.TableUserStore](t)(pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
		Name: table, Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash", Disabled: "disabled",
	}))
	users := base.WithCodeStore(codes)
	if !users.ConsumesCodesOf(codes) || base.ConsumesCodesOf(codes) {
		t.Fatal("ConsumesCodesOf")
	}
	hasher := passwordhash.Multi{recovery.Argon2id{Memory: 1024, Iterations: 1}, passwordhash.Bcrypt{}}
	sender := capturesender.New()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: recovery.NewInlineOutbox(),
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey}, Hasher: hasher,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice@example.com"}); err != nil || d.Destination != "a***@e***" {
		t.Fatalf("Recover: %+v, %v", d, err)
	}
	code, _ := sender.LastCode("Alice@Example.com")
	if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice@example.com", ConfirmationCode: code, Password: "N3w-passw0rd!"}); err != nil {
		t.Fatal(err)
	}
	hash := must[string](t)(users.StoredPasswordHash(ctx, "", "1"))
	if ok, _ := hasher.Verify("N3w-passw0rd!", hash); !ok || !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("the stored hash %q is not the new argon2id one", hash)
	}
	if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice@example.com", ConfirmationCode: code, Password: "Other-passw0rd!"}); !errors.Is(err, recovery.ErrExpiredCode) {
		t.Fatalf("the code again: %v", err)
	}
	// The disabled account gets nothing, and a simulated answer (alice has
	// her code and the password-changed notice).
	if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "bob@example.com"}); err != nil || sender.Len() != 2 {
		t.Fatalf("disabled: %v, %d messages", err, sender.Len())
	}
	// SetPassword by another path voids the outstanding code.
	e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice@example.com"})
	code, _ = sender.LastCode("Alice@Example.com")
	if err := users.SetPassword(ctx, recovery.DefaultPoolID, recovery.PasswordChange{Sub: "1", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice@example.com", ConfirmationCode: code, Password: "Other-passw0rd!"}); !errors.Is(err, recovery.ErrExpiredCode) {
		t.Fatalf("a code outstanding when the password was set elsewhere: %v", err)
	}
}
