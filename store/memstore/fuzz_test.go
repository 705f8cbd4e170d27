package memstore_test

import (
	"context"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// FuzzFindUser: a user created under one username is found by another
// identifier exactly when the two fold to the same key, so two inputs that
// normalize the same always find the same user.
func FuzzFindUser(f *testing.F) {
	for _, p := range [][2]string{
		{"alice", "ALICE"}, {"alice", "ＡＬＩＣＥ"}, {"Ünïcode", "U\u0308NÏCODE"}, {"ß", "SS"},
		{"ΣΑΣ", "σας"}, {"İstanbul", "istanbul"}, {"😀Smile", "😀SMILE"}, {"a", "b"}, {"\u212a", "k"},
	} {
		f.Add(p[0], p[1])
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" {
			return
		}
		s := memstore.NewUserStore()
		u, err := s.CreateUser(ctx, "p", recovery.User{Username: a}, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.FindUser(ctx, "p", recovery.UserQuery{Identifier: b, Key: recovery.FoldIdentifier(b)})
		same := recovery.FoldIdentifier(a) == recovery.FoldIdentifier(b) || recovery.FoldIdentifier(b) == recovery.FoldIdentifier(u.Sub)
		if (err == nil) != same {
			t.Fatalf("created %q (key %q), looked up %q (key %q): found=%v", a, recovery.FoldIdentifier(a), b, recovery.FoldIdentifier(b), err == nil)
		}
		if err == nil && got.Sub != u.Sub {
			t.Fatalf("found another user")
		}
	})
}
