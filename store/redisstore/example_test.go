package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// Example wires the engine to Redis: codes and request limits in Redis,
// shared by every instance of the service. miniredis stands in for the
// server; use redis.NewClusterClient or redis.NewFailoverClient the same way.
func Example() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := redisstore.LoadScripts(ctx, rdb); err != nil { // optional: spares the first calls a NOSCRIPT
		log.Fatal(err)
	}
	codes, err := redisstore.NewCodeStore(rdb, redisstore.Options{Prefix: "recovery:"})
	if err != nil {
		log.Fatal(err)
	}
	limiter, err := redisstore.NewLimiter(rdb, redisstore.Options{Prefix: "recovery:"})
	if err != nil {
		log.Fatal(err)
	}

	users := memstore.NewUserStore()
	users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Limiter: limiter, Sender: sender,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "2026-01", Secret: []byte("example-key-32-bytes-long-at-least!")}},
		Policy:  recovery.Policy{ClientRequests: recovery.Rate{Limit: 100, Window: time.Minute}},
	})
	if err != nil {
		log.Fatal(err)
	}

	details, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent to", details.Destination)
	code, _ := sender.AwaitCode(ctx, "alice") // sent a moment later, off the request path
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	fmt.Println("reset:", err == nil)
	err = engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	fmt.Println("again:", err)
	// Output:
	// sent to a***@e***
	// reset: true
	// again: ExpiredCodeException: Invalid code provided, please request a code again.
}

// ExampleCodeStore calls a CodeStore directly, as the engine does: one
// script per call, and every record with a TTL.
func ExampleCodeStore() {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	codes, err := redisstore.NewCodeStore(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	limits := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	code := recovery.KeyedHash{KeyID: "k1", Hash: []byte("32 bytes of HMAC stand in here..")}
	out, _ := codes.Issue(ctx, recovery.IssueParams{Pool: "default", UserKey: "u:1234", Code: code, ExpiresAt: now.Add(10 * time.Minute), Now: now, Limits: limits})
	fmt.Println("issue:", out)
	for _, k := range srv.Keys() {
		fmt.Println(k, "expires in", srv.TTL(k))
	}
	check := func(c recovery.KeyedHash) recovery.Outcome {
		out, _ := codes.Check(ctx, recovery.CheckParams{Pool: "default", UserKey: "u:1234", Candidates: []recovery.KeyedHash{c}, Consume: true, Now: now.Add(time.Minute), Limits: limits})
		return out
	}
	fmt.Println("wrong code:", check(recovery.KeyedHash{KeyID: "k1", Hash: []byte("not the right HMAC")}))
	fmt.Println("right code:", check(code))
	fmt.Println("right code again:", check(code))
	// Output:
	// issue: ok
	// recovery:code:{default|u:1234} expires in 1h0m0s
	// wrong code: mismatch
	// right code: ok
	// right code again: expired
}
