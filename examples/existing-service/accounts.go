package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// accountsSchema is the service's own table. Emails are unique whatever
// their case; sign-in and recovery both look them up by lower(email).
const accountsSchema = `
CREATE TABLE IF NOT EXISTS accounts (
	id            bigserial PRIMARY KEY,
	email         text UNIQUE,
	password_hash text,
	disabled      bool
);
CREATE UNIQUE INDEX IF NOT EXISTS accounts_lower_email ON accounts (lower(email));`

// accounts serves sign-up and sign-in, as the service always has.
type accounts struct {
	db *pgxpool.Pool
}

// credentials is the body of /signup and /login.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool) {
	var c credentials
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&c)
	if err != nil || !strings.Contains(c.Email, "@") || len(c.Password) < 8 || len(c.Password) > 72 {
		http.Error(w, "send {\"email\", \"password\"}: a valid address and 8 to 72 bytes of password", http.StatusBadRequest)
		return c, false
	}
	return c, true
}

// signup creates an account with a bcrypt hash, as the service did before
// it had recovery.
func (a *accounts) signup(w http.ResponseWriter, r *http.Request) {
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(c.Password), bcrypt.DefaultCost)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	_, err = a.db.Exec(r.Context(), `INSERT INTO accounts (email, password_hash, disabled) VALUES ($1, $2, false)`, strings.ToLower(c.Email), hash)
	if err != nil {
		slog.ErrorContext(r.Context(), "signup failed", "err", err)
		http.Error(w, "that address cannot sign up", http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// login answers 204 for the right password of an enabled account and 401
// otherwise. passwords (recovery.go) verifies both the bcrypt hashes of
// old and the argon2id hashes a reset writes.
func (a *accounts) login(w http.ResponseWriter, r *http.Request) {
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	var hash *string
	var disabled *bool
	err := a.db.QueryRow(r.Context(), `SELECT password_hash, disabled FROM accounts WHERE lower(email) = lower($1)`, c.Email).Scan(&hash, &disabled)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		slog.ErrorContext(r.Context(), "login failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err != nil || hash == nil || (disabled != nil && *disabled) {
		http.Error(w, "wrong email or password", http.StatusUnauthorized)
		return
	}
	if ok, err := passwords.Verify(c.Password, *hash); err != nil || !ok {
		http.Error(w, "wrong email or password", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
