package asynqoutbox_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Give the outbox the go-redis client the service already has and the
// engine's keys, give it to the engine as its Outbox, and close the engine
// on shutdown, after the HTTP server has stopped: that drains the queue,
// and whatever is left waits in Redis for the next start.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close() // after the engine: the outbox does not close it

	key, err := recovery.ParseKey("k1", os.Getenv("RECOVERY_KEY")) // openssl rand -hex 32
	if err != nil {
		log.Fatal(err)
	}
	keys := []recovery.Key{key}
	outbox, err := asynqoutbox.New(asynqoutbox.Options{Redis: rdb, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(),
		Sender:  capturesender.New(), // smtpsender.New(...) in production
		Outbox:  outbox,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    keys, // the engine's keys seal the queued deliveries too
	})
	if err != nil {
		log.Fatal(err)
	}

	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})

	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := engine.Close(closeCtx); err != nil {
		log.Printf("recovery messages left in Redis for the next start: %v", err)
	}
}
