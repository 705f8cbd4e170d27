package main

// Everything forgot-password adds to the service is in this file.

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
	"github.com/recoverykit/recoverykit/recovery/passwordhash"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// passwords writes argon2id hashes and still verifies the bcrypt ones the
// accounts table holds; login checks passwords with it too.
var passwords = passwordhash.Multi{recovery.Argon2id{}, passwordhash.Bcrypt{}}

// addRecovery serves forgot and reset on mux for the accounts table, with
// the codes in the same database and mail sent through $SMTP_URL. Close the
// engine it returns at shutdown: it sends the mail still queued.
func addRecovery(ctx context.Context, mux *http.ServeMux, db *pgxpool.Pool) (*recovery.Engine, error) {
	key, keyErr := recovery.ParseKey("k1", os.Getenv("RECOVERY_KEY"))
	sender, mailErr := smtpsender.NewFromURL(os.Getenv("SMTP_URL"))
	migrateErr := pgxstore.Migrate(ctx, db, pgxstore.Options{})
	codes, codesErr := pgxstore.NewCodeStore(db, pgxstore.Options{})
	users, usersErr := pgxstore.NewTableUserStore(ctx, db, pgxstore.Table{Name: "accounts", Sub: "id",
		Email: "email", EmailVerified: pgxstore.AlwaysVerified, PasswordHash: "password_hash", Disabled: "disabled"})
	if err := errors.Join(keyErr, mailErr, migrateErr, codesErr, usersErr); err != nil {
		return nil, err
	}
	engine, err := recovery.New(recovery.Config{Users: users.WithCodeStore(codes), Codes: codes, Sender: sender,
		Hasher: passwords, Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{key}})
	if err != nil {
		return nil, err
	}
	return engine, routeRecovery(mux, engine)
}

// routeRecovery serves POST /password/forgot {"email"} and POST
// /password/reset {"email", "code", "password"} on engine.
func routeRecovery(mux *http.ServeMux, engine *recovery.Engine) error {
	h, err := jsonhttp.New(engine, jsonhttp.Options{ClientID: "web", Fields: jsonhttp.Fields{Username: "email"}})
	if err != nil {
		return err
	}
	mux.Handle("POST /password/forgot", h.Forgot())
	mux.Handle("POST /password/reset", h.Reset())
	return nil
}
