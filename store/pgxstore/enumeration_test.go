package pgxstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestEnumerationTiming: with existence errors prevented and delivery
// asynchronous (a 20 ms sender behind asyncsender), Recover on the
// Postgres stores takes as long for a known user as for an unknown
// identifier. Each of the 2000 known users and 2000 unknown names is used
// once (and the first few once more to warm up), so the default budget
// never refuses.
func TestEnumerationTiming(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvTiming, "statistical timing test")
	const n = 2000
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)
	var known, unknown []string
	for i := range n {
		name := fmt.Sprintf("known-%05d", i)
		if _, err := users.CreateUser(t.Context(), recovery.DefaultPoolID, recovery.User{
			Username: name, Enabled: true,
			Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
		}, ""); err != nil {
			t.Fatal(err)
		}
		known = append(known, name)
		unknown = append(unknown, fmt.Sprintf("ghost-%05d", i))
	}
	// Plan the lookups on statistics of the seeded table, as in production.
	tables := pgx.Identifier{opts.Schema, "recovery_users"}.Sanitize() + ", " + pgx.Identifier{opts.Schema, "recovery_user_aliases"}.Sanitize()
	if _, err := pool.Exec(t.Context(), "ANALYZE "+tables); err != nil {
		t.Fatal(err)
	}

	slow := recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	async, err := asyncsender.New(slow, asyncsender.Options{Workers: 8, QueueSize: n + 64, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { // the messages still queued are not the point
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		async.Close(ctx)
	}()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: async,
		Clients: []recovery.Client{{ID: "web", PreventUserExistenceErrors: true}},
		Keys:    []recovery.Key{testKey},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := recoverytest.EnumerationTiming(t, e, "web", known, unknown, n)
	if err := r.Leak(); err != nil {
		t.Error(err)
	}
}
