package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// userStoreSuite runs recoverytest.TestUserStore against stores on c, each
// under a fresh prefix whose keys are deleted when its subtest ends.
func userStoreSuite(t *testing.T, c redis.UniversalClient) {
	recoverytest.TestUserStore(t, func(t *testing.T, seed []recoverytest.Seed) recovery.UserStore {
		p := newPrefix()
		deleteOnCleanup(t, c, p)
		s, err := redisstore.NewUserStore(c, redisstore.Options{Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		for _, sd := range seed {
			if _, err := s.CreateUser(context.Background(), sd.Pool, sd.User, sd.PasswordHash); err != nil {
				t.Fatalf("seeding %q: %v", sd.User.Username, err)
			}
		}
		return s
	})
}

func TestUserStoreMiniredis(t *testing.T) {
	_, c := newMiniredis(t)
	userStoreSuite(t, c)
}

func TestUserStoreRedis(t *testing.T) {
	c := realRedis(t)
	userStoreSuite(t, c)
}

func TestNewUserStoreErrors(t *testing.T) {
	if _, err := redisstore.NewUserStore(nil, redisstore.Options{}); err == nil {
		t.Error("NewUserStore(nil) succeeded")
	}
	_, c := newMiniredis(t)
	if _, err := redisstore.NewUserStore(c, redisstore.Options{Prefix: "a{b}"}); err == nil {
		t.Error("NewUserStore with a prefix holding a hash tag succeeded")
	}
}
