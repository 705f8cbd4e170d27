package pgxstore_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/passwordhash"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// Your service already has its users in a table of its own,
//
//	CREATE TABLE accounts (
//	    id            bigserial PRIMARY KEY,
//	    email         text UNIQUE NOT NULL,  -- verified at sign-up
//	    password_hash text,                  -- bcrypt, from before
//	    disabled      bool NOT NULL DEFAULT false
//	);
//	CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));
//
// Keep it: describe it to NewTableUserStore, keep codes and limits in
// pgxstore's tables beside it, and let the engine consume a code and set
// the password in one statement. Old bcrypt hashes keep verifying for your
// sign-in; new passwords are argon2id. (It needs a server, so it only
// compiles here.)
func ExampleNewTableUserStore() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	opts := pgxstore.Options{} // public schema, beside accounts: codes and limits only
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		log.Fatal(err)
	}
	codes, err := pgxstore.NewCodeStore(pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	users, err := pgxstore.NewTableUserStore(ctx, pool, pgxstore.Table{
		Name: "accounts", Sub: "id", Email: "email", EmailVerified: pgxstore.AlwaysVerified,
		PasswordHash: "password_hash", Disabled: "disabled",
	})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := recovery.New(recovery.Config{
		Users:   users.WithCodeStore(codes),
		Codes:   codes,
		Sender:  capturesender.New(), // smtpsender in production
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte(os.Getenv("RECOVERY_KEY"))}},
		Hasher:  passwordhash.Multi{recovery.Argon2id{}, passwordhash.Bcrypt{}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx)
}
