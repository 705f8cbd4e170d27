package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// freshDatabase creates a database of its own for the test, so that the
// service's accounts table and the code store's tables start empty and
// leave nothing behind, and returns a pool on it.
func freshDatabase(t *testing.T, ctx context.Context) *pgxpool.Pool {
	dsn := recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES")
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("RECOVERY_TEST_POSTGRES does not answer: %v", err)
	}
	defer admin.Close(ctx)
	name := "existing_service_" + rand.Text()[:10]
	name = strings.ToLower(name)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// post sends body to the service and returns the status and the answer.
func post(h http.Handler, path, body string) (int, map[string]any) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	var answer map[string]any
	json.Unmarshal(rec.Body.Bytes(), &answer)
	return rec.Code, answer
}

// The whole service against a real accounts table, real codes in Postgres
// and real mail: an account made with a bcrypt hash signs in with its old
// password, resets it with the code it was mailed, and signs in with the
// new one, now stored as argon2id.
func TestServiceAgainstPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := freshDatabase(t, ctx)
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	t.Setenv("SMTP_URL", "smtp://"+sink.Addr()+"?tls=none&from=no-reply@example.com")
	t.Setenv("RECOVERY_KEY", hex.EncodeToString([]byte(rand.Text()+rand.Text())))
	mux, stop, err := newService(ctx, db)
	if err != nil {
		t.Fatal(err)
	}

	must := func(path, body string, want int) map[string]any {
		t.Helper()
		status, answer := post(mux, path, body)
		if status != want {
			t.Fatalf("POST %s answered %d %v; want %d", path, status, answer, want)
		}
		return answer
	}
	must("/signup", `{"email": "Ana@Example.com", "password": "Old-passw0rd!"}`, http.StatusCreated)
	must("/signup", `{"email": "off@example.com", "password": "Old-passw0rd!"}`, http.StatusCreated)
	if _, err := db.Exec(ctx, `UPDATE accounts SET disabled = true WHERE email = 'off@example.com'`); err != nil {
		t.Fatal(err)
	}
	must("/login", `{"email": "ana@example.com", "password": "Old-passw0rd!"}`, http.StatusNoContent)

	// Known, unknown and disabled addresses get the same answer.
	known := must("/password/forgot", `{"email": "ANA@example.com"}`, http.StatusOK)
	for _, email := range []string{"nobody@example.com", "off@example.com"} {
		other := must("/password/forgot", `{"email": "`+email+`"}`, http.StatusOK)
		if len(other) != len(known) || other["medium"] != known["medium"] || other["attribute"] != known["attribute"] {
			t.Fatalf("%s answered %v, ana answered %v", email, other, known)
		}
	}
	code, err := sink.Take(ctx, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	reset := func(code string) string {
		return fmt.Sprintf(`{"email": "ana@example.com", "code": %q, "password": "N3w-passw0rd!"}`, code)
	}
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
	if answer := must("/password/reset", reset(wrong), http.StatusBadRequest); answer["error"] != "CodeMismatchException" {
		t.Fatalf("a wrong code answered %v", answer)
	}
	must("/password/reset", reset(code), http.StatusNoContent)
	must("/password/reset", reset(code), http.StatusBadRequest) // single use

	must("/login", `{"email": "ana@example.com", "password": "Old-passw0rd!"}`, http.StatusUnauthorized)
	must("/login", `{"email": "ana@example.com", "password": "N3w-passw0rd!"}`, http.StatusNoContent)
	var hash string
	if err := db.QueryRow(ctx, `SELECT password_hash FROM accounts WHERE email = 'ana@example.com'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("the new hash is %.10s..., want argon2id", hash)
	}
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sink.Count(); n != 2 {
		t.Fatalf("%d messages were sent; want 2, the code and the password-changed notice, to ana alone", n)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
