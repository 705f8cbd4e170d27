package riveroutbox_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Migrate River's tables at start-up, give the outbox the engine's keys,
// and close the engine on shutdown, after the HTTP server has stopped:
// that waits for this instance's deliveries and stops River's workers.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := riveroutbox.Migrate(ctx, pool, "recovery"); err != nil {
		log.Fatal(err)
	}
	key, err := recovery.ParseKey("k1", os.Getenv("RECOVERY_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	keys := []recovery.Key{key}
	mail, err := smtpsender.NewFromURL(os.Getenv("SMTP_URL"))
	if err != nil {
		log.Fatal(err)
	}

	outbox, err := riveroutbox.New(pool, riveroutbox.Options{Keys: keys, Schema: "recovery"})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := recovery.New(recovery.Config{
		Users: memstore.NewUserStore(), Codes: memstore.NewCodeStore(), // pgxstore in production
		Sender: mail, Outbox: outbox, Keys: keys,
		Clients: []recovery.Client{{ID: "web"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// ... serve requests: engine.Recover puts each code into River.

	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := engine.Close(closeCtx); err != nil {
		log.Printf("recovery messages left for the next instance: %v", err)
	}
}
