package pgxstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// Wire the engine to PostgreSQL, users included: migrate at start-up (the
// reference user tables too), then build the three stores on one pool. (It
// needs a server, so it only compiles here.)
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	opts := pgxstore.Options{Schema: "recovery"}
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		log.Fatal(err)
	}
	if err := pgxstore.MigrateUsers(ctx, pool, opts); err != nil {
		log.Fatal(err)
	}
	codes, err := pgxstore.NewCodeStore(pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	users, err := pgxstore.NewUserStore(pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	limiter, err := pgxstore.NewLimiter(pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	engine, err := recovery.New(recovery.Config{
		Users:   users.WithCodeStore(codes), // consumes the code and sets the password in one transaction
		Codes:   codes,
		Limiter: limiter,
		Sender:  capturesender.New(), // a real sender in production
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte(os.Getenv("RECOVERY_KEY"))}},
		Policy:  recovery.Policy{IPRequests: recovery.Rate{Limit: 20, Window: time.Minute}},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	fmt.Println(err)
}

// The SQL files, for a migration tool of your own: the code store's, and
// the reference user tables' (only if your users live there).
func ExampleCodeMigrations() {
	for _, track := range []fs.FS{pgxstore.CodeMigrations(), pgxstore.UserMigrations()} {
		names, _ := fs.Glob(track, "*.up.sql")
		fmt.Println(names)
	}
	fmt.Println("versions:", pgxstore.CodeSchemaVersion, pgxstore.UserSchemaVersion)
	// Output:
	// [001_init.up.sql 002_budgets.up.sql]
	// [001_init.up.sql]
	// versions: 2 1
}

// Seed users from a JSON file, as an example server might at start-up.
// UpsertUser is idempotent: run it again and the users are updated.
func ExampleUserStore_UpsertUser() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	users, err := pgxstore.NewUserStore(pool, pgxstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// [{"user": {"Username": "alice", "Enabled": true, "Attributes":
	//   {"email": "alice@example.com", "email_verified": "true"}},
	//   "password_hash": "$argon2id$..."}]
	var seed []struct {
		User         recovery.User `json:"user"`
		PasswordHash string        `json:"password_hash"`
	}
	b, err := os.ReadFile("users.json")
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &seed); err != nil {
		log.Fatal(err)
	}
	for _, s := range seed {
		u, err := users.UpsertUser(ctx, recovery.DefaultPoolID, s.User, s.PasswordHash)
		if err != nil {
			log.Fatalf("seeding %s: %v", s.User.Username, err)
		}
		fmt.Println(u.Username, u.Sub)
	}
}

// Sweep lapsed recovery records from a periodic job, in bounded batches.
// Optional: new rows already reclaim lapsed ones.
func ExampleCodeStore_SweepExpired() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	codes, err := pgxstore.NewCodeStore(pool, pgxstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for {
		n, err := codes.SweepExpired(ctx, time.Now(), 5000)
		if err != nil {
			log.Print(err)
		}
		if n < 5000 {
			break
		}
	}
}
