package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// directory is what the server needs of a user store: the engine's
// interface, creating seed users, and the stored hash to check a sign-in.
// memstore, pgxstore and redisstore's user stores all have it.
type directory interface {
	recovery.UserStore
	recovery.UserCreator
	recovery.PasswordHashReader
}

// backend is the storage the server runs on: users, codes (with their
// budgets and locks) and sign-in failures, all in one place, so that
// instances on one database or Redis agree on all of them.
type backend struct {
	users    directory
	codes    recovery.CodeStore
	failures failureCounter
	close    func()
	// queue builds the store's durable outbox (River on Postgres, asynq on
	// Redis); nil for the memory store.
	queue func(ctx context.Context, keys []recovery.Key, log *slog.Logger) (recovery.Outbox, error)
}

func newBackend(ctx context.Context, o options, log *slog.Logger) (*backend, error) {
	switch o.store {
	case "postgres":
		return postgresBackend(ctx, o, log)
	case "redis":
		return redisBackend(ctx, o, log)
	}
	return memoryBackend(), nil
}

func memoryBackend() *backend {
	return &backend{
		users:    memstore.NewUserStore(),
		codes:    memstore.NewCodeStore(),
		failures: newMemoryFailures(),
		close:    func() {},
	}
}

// seedUsers creates the seed's users that do not exist yet. A user that
// exists (found by its username) is left exactly as it is: the seed never
// rewrites a password, a status, the enabled flag or attributes, so a
// restart keeps every reset. Several instances may seed at once: the store
// creates each user once, and the others find it.
func (b *backend) seedUsers(ctx context.Context, s seed, hasher recovery.PasswordHasher, log *slog.Logger) error {
	created, kept := 0, 0
	for i, su := range s.Users {
		isNew, err := b.seedUser(ctx, s.UserPoolID, su, hasher)
		if err != nil {
			return fmt.Errorf("seed: users[%d] %q: %w", i, su.Username, err)
		}
		if isNew {
			created++
		} else {
			kept++
		}
	}
	log.Info("seed applied", "created", created, "existing_left_unchanged", kept)
	return nil
}

// seedUser creates one seed user unless a user with its username exists,
// and reports whether it created it.
func (b *backend) seedUser(ctx context.Context, pool string, su seedUser, hasher recovery.PasswordHasher) (bool, error) {
	key := recovery.FoldIdentifier(su.Username)
	old, err := b.users.FindUser(ctx, pool, recovery.UserQuery{Identifier: su.Username, Key: key})
	switch {
	case err == nil && recovery.FoldIdentifier(old.Username) == key:
		return false, nil
	case err != nil && !errors.Is(err, recovery.ErrUserNotFound):
		return false, err
	}
	hash := ""
	if su.Password != "" {
		if hash, err = hasher.Hash(su.Password); err != nil {
			return false, err
		}
	}
	_, err = b.users.CreateUser(ctx, pool, su.user(), hash)
	switch {
	case errors.Is(err, recovery.ErrUsernameExists):
		return false, nil // another instance created it meanwhile
	case errors.Is(err, recovery.ErrAliasExists):
		return false, fmt.Errorf("%w: its verified email, phone number or preferred_username belongs to another user; change the seed", err)
	}
	return err == nil, err
}
