package pgxstore_test

import (
	"context"
	"errors"
	"log"
	"os"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// accountsStore is a recovery.UserStore over a users table an application
// already has, instead of pgxstore.UserStore's recovery_users:
//
//	CREATE TABLE accounts (
//	    id              uuid PRIMARY KEY,
//	    login           text NOT NULL,
//	    login_folded    text NOT NULL UNIQUE, -- recovery.FoldIdentifier(login)
//	    email           text,
//	    email_confirmed boolean NOT NULL DEFAULT false,
//	    email_folded    text,                 -- recovery.FoldIdentifier(email)
//	    disabled        boolean NOT NULL DEFAULT false,
//	    password_digest text
//	);
//	-- A verified email belongs to one account.
//	CREATE UNIQUE INDEX accounts_email_folded ON accounts (email_folded) WHERE email_confirmed;
//
// The folded columns are what make lookups one indexed query: keep them up
// to date wherever the application writes login and email (or make them
// generated columns of a SQL function you trust to match FoldIdentifier).
// This table serves one pool, so the pool argument is ignored.
type accountsStore struct {
	db pgxstore.DBTX
	// codesTable is the pgxstore code store's table, when it lives in the
	// same database: SetPassword then voids the user's code in the same
	// statement.
	codesTable string
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// FindUser matches the folded key against the login, the id and the
// confirmed email, in one query; the login wins over another account's
// email.
func (s accountsStore) FindUser(ctx context.Context, _ string, q recovery.UserQuery) (recovery.User, error) {
	var id any // the key as a uuid, or NULL when it is none
	if uuidPattern.MatchString(q.Key) {
		id = q.Key
	}
	var (
		u         recovery.User
		disabled  bool
		email     *string
		confirmed bool
	)
	err := s.db.QueryRow(ctx, `
		SELECT id::text, login, disabled, email, email_confirmed
		FROM accounts
		WHERE login_folded = $1 OR id = $2::uuid OR (email_confirmed AND email_folded = $1)
		ORDER BY login_folded = $1 DESC
		LIMIT 1`, q.Key, id).Scan(&u.Sub, &u.Username, &disabled, &email, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	if err != nil {
		return recovery.User{}, err
	}
	u.Disabled = disabled
	u.Status = recovery.StatusConfirmed
	u.Attributes = map[string]string{}
	if email != nil {
		u.Attributes[recovery.AttrEmail] = *email
		if confirmed {
			u.Attributes[recovery.AttrEmailVerified] = "true"
		}
	}
	return u, nil
}

// SetPassword stores the new digest and, in the same statement, marks the
// user's outstanding recovery code used.
func (s accountsStore) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	var id string
	err := s.db.QueryRow(ctx, `
		WITH a AS (
			UPDATE accounts SET password_digest = $2 WHERE id = $1::uuid RETURNING id
		), c AS (
			UPDATE `+s.codesTable+` SET used = true
			WHERE pool = $3 AND user_key = $4 AND NOT used AND EXISTS (SELECT FROM a)
		)
		SELECT id::text FROM a`, c.Sub, c.PasswordHash, pool, recovery.UserKey(c.Sub)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrUserNotFound
	}
	return err
}

// Wrap an existing users table: implement recovery.UserStore with one
// FindUser query and one SetPassword update, and keep codes and request
// counters in pgxstore. (It needs a server, so it only compiles here.)
func Example_accountsTable() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	opts := pgxstore.Options{} // public schema, beside accounts
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		log.Fatal(err)
	}
	codes, err := pgxstore.NewCodeStore(pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	engine, err := recovery.New(recovery.Config{
		Users:   accountsStore{db: pool, codesTable: "public.recovery_codes"},
		Codes:   codes,
		Sender:  capturesender.New(),
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte(os.Getenv("RECOVERY_KEY"))}},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = engine
}
