package main_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// postgresArgs returns the flags of a server on the Postgres of
// RECOVERY_TEST_POSTGRES, in a schema of the test's own, which is dropped
// when the test ends; it skips the test when the variable is unset.
func postgresArgs(t *testing.T) []string {
	t.Helper()
	url := recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES")
	schema := "rk_server_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return []string{"-store", "postgres", "-postgres", url, "-postgres-schema", schema}
}

// redisArgs returns the flags of a server on the Redis of
// RECOVERY_TEST_REDIS, under a key prefix of the test's own, whose keys
// are deleted when the test ends; it skips the test when the variable is
// unset.
func redisArgs(t *testing.T) []string {
	t.Helper()
	url := recoverytest.RequireEnv(t, "RECOVERY_TEST_REDIS")
	prefix := "rk-server:" + rand.Text()[:12] + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Errorf("deleting the keys under %s: %v", prefix, err)
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Unlink(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("deleting %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("deleting the keys under %s: %v", prefix, err)
		}
	})
	return []string{"-store", "redis", "-redis", url, "-redis-prefix", prefix}
}
