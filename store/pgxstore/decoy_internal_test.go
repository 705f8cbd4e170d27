package pgxstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery"
)

// TestFindReadsAsMuchForNobody: FindUser's statement reads as many pages
// for an identifier that matches nobody as for one that finds a user by
// username, sub, email or phone, with custom and with generic plans, on
// the reference user store and on a TableUserStore. Page reads, unlike
// time, count the same on every run, so this pins what the decoy row of
// user_find.sql is for: an unknown identifier costs the database what a
// known user does. (Dropping the decoy, or letting an alias that matches
// nobody skip its primary-key probe, makes it fail.)
func TestFindReadsAsMuchForNobody(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conn, schema := usersSchema(t, ctx)

	// Enough users for two-level indexes, in two pools.
	users, err := NewUserStore(conn, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	var alice recovery.User
	for i := range 600 {
		pool, name := recovery.DefaultPoolID, fmt.Sprintf("user%04d", i)
		if i%3 == 2 {
			pool = "other"
		}
		u, err := users.UpsertUser(ctx, pool, recovery.User{Username: name, Attributes: map[string]string{
			recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true",
			recovery.AttrPhoneNumber: fmt.Sprintf("+1555%07d", i), recovery.AttrPhoneNumberVerified: "true",
		}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == 300 {
			alice = u
		}
	}
	accounts := pgx.Identifier{schema, "accounts"}.Sanitize()
	for _, sql := range []string{
		`CREATE TABLE ` + accounts + ` (id bigserial PRIMARY KEY, username text, email text, phone text, password_hash text)`,
		`CREATE UNIQUE INDEX ON ` + accounts + ` (lower(username))`,
		`CREATE UNIQUE INDEX ON ` + accounts + ` (lower(email))`,
		`CREATE UNIQUE INDEX ON ` + accounts + ` (phone)`,
		`INSERT INTO ` + accounts + ` (username, email, phone) SELECT 'user' || g, 'user' || g || '@example.com', '+1555' || lpad(g::text, 7, '0') FROM generate_series(1, 600) g`,
		`ANALYZE ` + pgx.Identifier{schema, "recovery_users"}.Sanitize() + `, ` + pgx.Identifier{schema, "recovery_user_aliases"}.Sanitize() + `, ` + accounts,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	table, err := NewTableUserStore(ctx, conn, Table{Name: schema + ".accounts", Sub: "id", Username: "username",
		Email: "email", EmailVerified: AlwaysVerified, Phone: "phone", PhoneVerified: AlwaysVerified, PasswordHash: "password_hash", FindBySub: true})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		sql  string
		args func(key string) []any
		keys [][]string // groups of identifiers of one shape: each finds a user, or nobody
	}{
		{"UserStore", users.find, func(key string) []any { return []any{recovery.DefaultPoolID, key} }, [][]string{{
			"user0300", recovery.FoldIdentifier(alice.Sub), "user0300@example.com", "+15550000300",
			"user0300x", "nobody@example.com", "+15559999999", "user0302", // the last in another pool
		}}},
		// The sub column is a number: an identifier that is not one skips
		// that probe, whether it names somebody or not.
		{"TableUserStore", table.find, func(key string) []any { return table.findArgs(recovery.UserQuery{Key: key}) }, [][]string{
			{"user300", "user300@example.com", "+15550000300", "user300x", "nobody@example.com", "+15559999999"},
			{"300", "987654"},
		}},
	} {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
					t.Fatal(err)
				}
				name := "find_" + mode
				if _, err := conn.Prepare(ctx, name, tc.sql); err != nil {
					t.Fatal(err)
				}
				defer conn.Deallocate(context.Background(), name)
				for _, group := range tc.keys {
					pages := make([]int, len(group))
					for i, key := range group {
						var params []string // EXECUTE takes no parameters: literals
						for _, a := range tc.args(key) {
							switch a := a.(type) {
							case string:
								params = append(params, "'"+strings.ReplaceAll(a, "'", "''")+"'")
							case nil:
								params = append(params, "NULL")
							default:
								params = append(params, fmt.Sprint(a))
							}
						}
						var plan []struct {
							Plan struct {
								Hit  int `json:"Shared Hit Blocks"`
								Read int `json:"Shared Read Blocks"`
							}
						}
						for range 2 { // the second run, with everything cached
							if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE "+name+"("+strings.Join(params, ", ")+")").Scan(&plan); err != nil {
								t.Fatal(err)
							}
						}
						pages[i] = plan[0].Plan.Hit + plan[0].Plan.Read
					}
					for i := range pages {
						if pages[i] != pages[0] {
							t.Errorf("pages read finding %q: %v", group, pages)
							break
						}
					}
				}
			})
		}
	}
}
