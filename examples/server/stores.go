package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/pgxstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// postgresBackend keeps users and codes in Postgres, applying the
// migrations first. The user store shares the code store, so a password
// reset and the invalidation of the user's code are one transaction.
func postgresBackend(ctx context.Context, url string, log *slog.Logger) (*backend, error) {
	pool, err := pgxpool.New(ctx, url)
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
	opts := pgxstore.Options{}
	if err := pgxstore.Migrate(ctx, pool, opts); err != nil {
		return fail(fmt.Errorf("migrating: %w", err))
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
	users = users.WithCodeStore(codes)
	log.Info("postgres: migrations applied")
	return &backend{
		users: users, codes: codes,
		upsert: func(ctx context.Context, pool string, u recovery.User, hash string) error {
			_, err := users.UpsertUser(ctx, pool, u, hash)
			return err
		},
		close: pool.Close,
	}, nil
}

// redisBackend keeps codes in Redis and users in memory.
func redisBackend(ctx context.Context, url string, log *slog.Logger) (*backend, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("-redis: %w", err)
	}
	client := redis.NewClient(opt)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("-redis: %w", err)
	}
	codes, err := redisstore.NewCodeStore(client, redisstore.Options{})
	if err != nil {
		client.Close()
		return nil, err
	}
	users := memstore.NewUserStore()
	log.Info("redis: connected")
	return &backend{
		users: users, codes: codes,
		upsert: memstoreUpsert(users),
		close:  func() { client.Close() },
	}, nil
}
