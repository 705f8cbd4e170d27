package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// postgresBackend keeps users, codes and sign-in failures in Postgres, in
// -postgres-schema, applying both migration tracks first (pgxstore.Migrate
// for codes and limits, pgxstore.MigrateUsers for the reference user
// tables). The user store shares the code store, so a password reset and
// the use of its code are one transaction.
func postgresBackend(ctx context.Context, o options, log *slog.Logger) (*backend, error) {
	pool, err := pgxpool.New(ctx, o.postgres)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	fail := func(err error) (*backend, error) {
		pool.Close()
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		return fail(fmt.Errorf("-postgres: %w", err))
	}
	opts := pgxstore.Options{Schema: o.postgresSchema}
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		return fail(fmt.Errorf("migrating the code tables: %w", err))
	}
	if err := pgxstore.MigrateUsers(ctx, pool, opts); err != nil {
		return fail(fmt.Errorf("migrating the user tables: %w", err))
	}
	codes, err := pgxstore.NewCodeStore(pool, opts)
	if err != nil {
		return fail(err)
	}
	users, err := pgxstore.NewUserStore(pool, opts)
	if err != nil {
		return fail(err)
	}
	failures, err := newPostgresFailures(ctx, pool, opts.WithDefaults().Schema)
	if err != nil {
		return fail(err)
	}
	log.Info("postgres: migrations applied", "schema", opts.WithDefaults().Schema)
	schema := opts.WithDefaults().Schema
	queue := func(ctx context.Context, keys []recovery.Key, log *slog.Logger) (recovery.Outbox, error) {
		if err := riveroutbox.Migrate(ctx, pool, schema); err != nil {
			return nil, fmt.Errorf("migrating River's tables: %w", err)
		}
		return riveroutbox.New(pool, riveroutbox.Options{Keys: keys, Schema: schema, Logger: log})
	}
	return &backend{users: users.WithCodeStore(codes), codes: codes, failures: failures, close: pool.Close, queue: queue}, nil
}

// redisBackend keeps users (redisstore.UserStore), codes and sign-in
// failures in Redis under -redis-prefix.
func redisBackend(ctx context.Context, o options, log *slog.Logger) (*backend, error) {
	opt, err := redis.ParseURL(o.redis)
	if err != nil {
		return nil, fmt.Errorf("-redis: %w", err)
	}
	client := redis.NewClient(opt)
	fail := func(err error) (*backend, error) {
		client.Close()
		return nil, err
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return fail(fmt.Errorf("-redis: %w", err))
	}
	ropts := redisstore.Options{Prefix: o.redisPrefix}
	codes, err := redisstore.NewCodeStore(client, ropts)
	if err != nil {
		return fail(err)
	}
	users, err := redisstore.NewUserStore(client, ropts)
	if err != nil {
		return fail(err)
	}
	if err := redisstore.LoadScripts(ctx, client); err != nil {
		return fail(err)
	}
	log.Info("redis: connected", "prefix", o.redisPrefix)
	queue := func(_ context.Context, keys []recovery.Key, log *slog.Logger) (recovery.Outbox, error) {
		return asynqoutbox.New(asynqoutbox.Options{Redis: client, Keys: keys, Queue: asynqQueue(o.redisPrefix), Logger: log})
	}
	return &backend{
		users: users, codes: codes,
		failures: &redisFailures{c: client, prefix: o.redisPrefix},
		close:    func() { client.Close() },
		queue:    queue,
	}, nil
}

// asynqQueue names the asynq queue after -redis-prefix, so that servers
// on different prefixes of one Redis do not take each other's deliveries:
// "recovery" for the default prefix "recovery:".
func asynqQueue(prefix string) string { return strings.TrimSuffix(prefix, ":") }
