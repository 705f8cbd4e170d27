// Command existing-service is the kind of service this module is added to:
// an account service with its own Postgres table,
//
//	accounts(id bigserial, email text unique, password_hash text, disabled bool)
//
// holding bcrypt hashes, and its own sign-up and sign-in. recovery.go adds
// forgot-password to it: everything recovery needs is in that one file, and
// the rest of the service changed in two places only, the call to
// addRecovery in newService and login's use of passwords, which verifies the
// argon2id hashes a reset writes as well as the old bcrypt ones.
//
// Run it with a database, a key for the codes and an SMTP server (here the
// loopback sink of examples/smtpsink, which prints the codes it receives):
//
//	go run ./examples/smtpsink/cmd/smtpsink &
//	DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	RECOVERY_KEY=$(openssl rand -hex 32) \
//	SMTP_URL='smtp://127.0.0.1:2525?tls=none&from=no-reply@example.com' \
//	go run ./examples/existing-service
//
//	curl -d '{"email": "ana@example.com", "password": "Old-passw0rd!"}' 127.0.0.1:8080/signup
//	curl -d '{"email": "ana@example.com"}' 127.0.0.1:8080/password/forgot
//	curl -d '{"email": "ana@example.com", "code": "<code>", "password": "N3w-passw0rd!"}' 127.0.0.1:8080/password/reset
//	curl -d '{"email": "ana@example.com", "password": "N3w-passw0rd!"}' 127.0.0.1:8080/login
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to serve on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Getenv("DATABASE_URL")); err != nil {
		fmt.Fprintln(os.Stderr, "existing-service:", err)
		os.Exit(1)
	}
}

// run serves on addr until ctx ends, then lets requests in flight finish.
func run(ctx context.Context, addr, databaseURL string) error {
	if databaseURL == "" {
		return errors.New("set DATABASE_URL to the service's Postgres database")
	}
	db, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	mux, stopService, err := newService(ctx, db)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(shutdown), stopService(shutdown))
}

// newService creates the accounts table if it is missing and returns the
// service's routes and the function that stops what runs in the background.
func newService(ctx context.Context, db *pgxpool.Pool) (*http.ServeMux, func(context.Context) error, error) {
	if _, err := db.Exec(ctx, accountsSchema); err != nil {
		return nil, nil, fmt.Errorf("creating the accounts table: %w", err)
	}
	a := &accounts{db: db}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", a.signup)
	mux.HandleFunc("POST /login", a.login)
	engine, err := addRecovery(ctx, mux, db)
	if err != nil {
		return nil, nil, err
	}
	return mux, engine.Close, nil
}
