package redisstore

import (
	"encoding/json"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestFindAnswersDecoyForNobody: findUserScript makes as many Redis calls
// whoever an identifier names, or nobody, and answers nobody with a record
// all the same, marked as a decoy, so that nobody found costs the script,
// the reply and its decoding what a user found does; FindUser then answers
// ErrUserNotFound. An empty pool has nothing to answer.
func TestFindAnswersDecoyForNobody(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	users, err := NewUserStore(c, Options{Prefix: "decoy:"})
	if err != nil {
		t.Fatal(err)
	}
	keys := users.userKeys(recovery.DefaultPoolID)[:3]
	if res, err := findUserScript.Run(ctx, c, keys, "nobody").StringSlice(); err != redis.Nil {
		t.Fatalf("empty pool: %q, %v; want redis.Nil", res, err)
	}
	alice, err := users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{Username: "alice", Attributes: map[string]string{
		recovery.AttrEmail: "alice@example.com", recovery.AttrEmailVerified: "true"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	commands := map[string]int{} // Redis commands per call, the script's own included
	for key, found := range map[string]string{"alice": "1", "alice@example.com": "1", recovery.FoldIdentifier(alice.Sub): "1", "nobody": "0", "nobody@example.com": "0"} {
		before := m.CommandCount()
		res, err := findUserScript.Run(ctx, c, keys, key).StringSlice()
		commands[key] = m.CommandCount() - before
		if err != nil || len(res) != 4 || res[0] != alice.Sub || res[3] != found || !json.Valid([]byte(res[1])) {
			t.Errorf("findUserScript(%q) = %q, %v; want alice's sub and record, found %s", key, res, err, found)
		}
		_, err = users.FindUser(ctx, recovery.DefaultPoolID, recovery.UserQuery{Key: key})
		if (found == "0") != (err == recovery.ErrUserNotFound) {
			t.Errorf("FindUser(%q): %v", key, err)
		}
	}
	for _, n := range commands {
		if n != commands["alice"] {
			t.Errorf("Redis commands per lookup differ between identifiers: %v", commands)
			break
		}
	}
}
