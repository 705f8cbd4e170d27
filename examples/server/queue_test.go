package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// On a shared store with a real channel the server queues deliveries in
// the store's durable queue (River on Postgres, asynq on Redis) by
// default: the mailed code arrives through it and resets the password.
func TestDurableQueuePostgres(t *testing.T) { durableQueue(t, postgresArgs(t), "queue=river") }

func TestDurableQueueRedis(t *testing.T) {
	args := redisArgs(t)
	cleanAsynqQueue(t, args[len(args)-1])
	durableQueue(t, args, "queue=asynq")
}

func durableQueue(t *testing.T, storage []string, logged string) {
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	seed, _ := writeSeed(t)
	keyEnv, _ := randomKey()
	s := start(t, []string{keyEnv}, append([]string{"-seed", seed, "-smtp", sink.Addr()}, storage...)...)
	if !strings.Contains(s.log(), logged) {
		t.Fatalf("the server did not say %q:\n%s", logged, s.log())
	}
	if err := forgot(s, "web", "alice"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := sink.Take(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("alice's email: %v\n%s", err, s.log())
	}
	if _, err := s.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("alice"),
		ConfirmationCode: aws.String(code), Password: aws.String("N3w-passw0rd!")}); err != nil {
		t.Fatalf("the queued code does not reset: %v", err)
	}
	stop(t, s)
}

// cleanAsynqQueue removes, when the test ends, the asynq keys of the queue
// a server on prefix uses (asynq keeps them outside the prefix).
func cleanAsynqQueue(t *testing.T, prefix string) {
	url := recoverytest.RequireEnv(t, "RECOVERY_TEST_REDIS")
	queue := strings.TrimSuffix(prefix, ":")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Error(err)
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		iter := c.Scan(ctx, 0, "asynq:{"+queue+"}*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		c.SRem(ctx, "asynq:queues", queue)
		if err := iter.Err(); err != nil {
			t.Error(err)
		}
	})
}
