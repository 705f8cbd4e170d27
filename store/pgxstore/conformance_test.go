package pgxstore_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// Each factory call migrates a fresh schema on the test's pool, which is
// what makes two stores from two calls see nothing of each other.

func TestCodeStoreConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestCodeStore(t, func(t *testing.T) recovery.CodeStore {
		return must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, newSchema(t, pool)))
	})
}

func TestUserStoreConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestUserStore(t, func(t *testing.T, seed []recoverytest.Seed) recovery.UserStore {
		s := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, newSchema(t, pool)))
		for _, u := range seed {
			if _, err := s.UpsertUser(t.Context(), u.Pool, u.User, u.PasswordHash); err != nil {
				t.Fatalf("seeding %q: %v", u.User.Username, err)
			}
		}
		return s
	})
}

func TestLimiterConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestRequestLimiter(t, func(t *testing.T) recovery.RequestLimiter {
		return must[*pgxstore.Limiter](t)(pgxstore.NewLimiter(pool, newSchema(t, pool)))
	})
}

func TestCodeIssuingFinderConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestCodeIssuingFinder(t, func(t *testing.T, seed []recoverytest.Seed) (recovery.UserStore, recovery.CodeStore) {
		opts := newSchema(t, pool)
		codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
		s := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts))
		for _, u := range seed {
			if _, err := s.UpsertUser(t.Context(), u.Pool, u.User, u.PasswordHash); err != nil {
				t.Fatalf("seeding %q: %v", u.User.Username, err)
			}
		}
		return s.WithCodeStore(codes), codes
	})
}
