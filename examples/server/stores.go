package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

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
	return &backend{users: users.WithCodeStore(codes), codes: codes, failures: failures, close: pool.Close}, nil
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
	return &backend{
		users: users, codes: codes,
		failures: &redisFailures{c: client, prefix: o.redisPrefix},
		close:    func() { client.Close() },
	}, nil
}
