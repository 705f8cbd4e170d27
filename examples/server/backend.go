package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// backend is the storage the server runs on.
type backend struct {
	users directory
	codes recovery.CodeStore
	// upsert adds or replaces a seed user with its password hash.
	upsert func(ctx context.Context, pool string, u recovery.User, hash string) error
	close  func()
}

func newBackend(ctx context.Context, o options, log *slog.Logger) (*backend, error) {
	switch o.store {
	case "postgres":
		return postgresBackend(ctx, o.postgres, log)
	case "redis":
		return redisBackend(ctx, o.redis, log)
	}
	return memoryBackend(), nil
}

func memoryBackend() *backend {
	users := memstore.NewUserStore()
	return &backend{
		users:  users,
		codes:  memstore.NewCodeStore(),
		upsert: memstoreUpsert(users),
		close:  func() {},
	}
}

// memstoreUpsert creates a seed user, or replaces the one with that
// username (keeping its sub) when the seed is applied again.
func memstoreUpsert(users *memstore.UserStore) func(context.Context, string, recovery.User, string) error {
	return func(ctx context.Context, pool string, u recovery.User, hash string) error {
		_, err := users.CreateUser(ctx, pool, u, hash)
		if !errors.Is(err, recovery.ErrUsernameExists) {
			return err
		}
		old, err := users.FindUser(ctx, pool, recovery.UserQuery{Identifier: u.Username, Key: recovery.FoldIdentifier(u.Username)})
		if err != nil {
			return err
		}
		u.Sub = old.Sub
		if err := users.UpdateUser(ctx, pool, u); err != nil {
			return err
		}
		return users.SetPassword(ctx, pool, recovery.PasswordChange{Sub: u.Sub, PasswordHash: hash, Status: u.Status})
	}
}

// seedUsers hashes each seed password and stores the users.
func (b *backend) seedUsers(ctx context.Context, s seed, hasher recovery.PasswordHasher) error {
	for i, su := range s.Users {
		hash := ""
		if su.Password != "" {
			var err error
			if hash, err = hasher.Hash(su.Password); err != nil {
				return err
			}
		}
		if err := b.upsert(ctx, s.UserPoolID, su.user(), hash); err != nil {
			return fmt.Errorf("seed: users[%d] %q: %w", i, su.Username, err)
		}
	}
	return nil
}
