package pgxstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// TestMigrationFiles checks the embedded sets: names, versions, down
// files, the version constants, and a header comment on every file.
func TestMigrationFiles(t *testing.T) {
	for _, tr := range []struct {
		dir     string
		files   fs.FS
		version int
	}{{"codes", CodeMigrations(), CodeSchemaVersion}, {"users", UserMigrations(), UserSchemaVersion}} {
		ms, err := loadMigrations(tr.files)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != tr.version || tr.version < 1 {
			t.Errorf("%s: %d migrations, version constant %d", tr.dir, len(ms), tr.version)
		}
		err = fs.WalkDir(tr.files, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(tr.files, path)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(string(b), "-- "+tr.dir+"/"+path+":") {
				t.Errorf("migration %s/%s does not start with a header comment naming it", tr.dir, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []fstest.MapFS{
		{"001_init.up.sql": {}, "001_init.down.sql": {}, "003_x.up.sql": {}, "003_x.down.sql": {}},
		{"001_init.up.sql": {}},
		{"001_init.up.sql": {}, "001_init.down.sql": {}, "readme.txt": {}},
		{"001_init.up.sql": {}, "001_init.down.sql": {}, "001_again.up.sql": {}, "001_again.down.sql": {}},
	} {
		if _, err := loadMigrations(bad); err == nil {
			t.Errorf("loadMigrations accepted %v", keys(bad))
		}
	}
}

func keys(m fstest.MapFS) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// goQueries are the statements the Go code runs, by file name.
var goQueries = []string{
	"code_issue", "code_check", "code_revoke", "code_restore", "code_sweep", "code_outstanding", "limit_allow", "limit_sweep",
	"user_find", "user_password_hash", "user_stored_hash", "user_set_password", "user_set_password_codes",
	"user_set_password_consuming",
	"user_recent_hashes", "user_create", "user_upsert", "user_require_reset",
}

// TestQueryFiles checks that every query file has a header saying what it
// takes and returns, is used, and renders without markers left.
func TestQueryFiles(t *testing.T) {
	entries, err := queryFiles.ReadDir("queries")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, q := range goQueries {
		used[q+".sql"] = true
	}
	for _, e := range entries {
		if !used[e.Name()] {
			t.Errorf("queries/%s is not used", e.Name())
		}
		b, _ := queryFiles.ReadFile("queries/" + e.Name())
		head := string(b)
		if !strings.HasPrefix(head, "-- "+e.Name()+":") || !strings.Contains(head, "-- Takes") {
			t.Errorf("queries/%s lacks a header naming it and saying what it takes", e.Name())
		}
		if !strings.Contains(head, "Returns") && !strings.Contains(head, "returns") {
			t.Errorf("queries/%s does not say what it returns", e.Name())
		}
	}
	for _, q := range goQueries {
		sql := queryWith(q, schemaMarker, "s", codesSchemaMarker, "c")
		if strings.Contains(sql, "TEMPLATE") || strings.HasPrefix(sql, "--") {
			t.Errorf("query %s renders with a marker or its header left: %s", q, sql)
		}
	}
	if got := qualifier(`we"ird`); got != `"we""ird".` {
		t.Errorf("qualifier quotes to %s", got)
	}
}

// TestGenericPlans checks, on a new and unanalyzed schema, that the generic
// plan of each statement the Go code runs on a table reaches its rows
// through index conditions: no sequential scan (but user_find.sql's decoys,
// which read a table's first row), no index scan that matches
// on pool alone and filters the rest. Prepared statements switch to generic
// plans after five runs, and one made on a young table would otherwise
// stay for the life of the connection.
func TestGenericPlans(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, schema := usersSchema(t, ctx)
	if err := Migrate(ctx, conn, Options{Schema: schema}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"code_revoke", "user_find", "user_password_hash", "user_set_password",
		"user_set_password_codes", "user_recent_hashes",
	} {
		sql := queryWith(q, schemaMarker, schema, codesSchemaMarker, schema)
		sd, err := conn.Prepare(ctx, q, sql)
		if err != nil {
			t.Fatalf("preparing %s: %v", q, err)
		}
		args := make([]string, len(sd.ParamOIDs))
		for i := range args {
			args[i] = "NULL"
		}
		rows, err := conn.Query(ctx, "EXPLAIN EXECUTE "+pgx.Identifier{q}.Sanitize()+"("+strings.Join(args, ", ")+")")
		if err != nil {
			t.Fatalf("explaining %s: %v", q, err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		for _, line := range plan {
			l := strings.TrimSpace(line)
			decoy := regexp.MustCompile(`^->  Seq Scan on recovery_\w+ decoy(_\d+)? `).MatchString(l) // user_find.sql's, one row read
			if strings.Contains(l, "Seq Scan") && !decoy || strings.HasPrefix(l, "Join Filter") ||
				(strings.HasPrefix(l, "Index Cond") && !strings.Contains(l, "AND")) {
				t.Errorf("generic plan of %s on a new table: %q\n%s", q, l, text)
				break
			}
		}
	}
}

// usersSchema connects to the test database (skipping the test without
// RECOVERY_TEST_POSTGRES) and migrates the user tables into a fresh schema;
// the schema is dropped and the connection closed when the test ends.
func usersSchema(t *testing.T, ctx context.Context) (*pgx.Conn, string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, recoverytest.RequireEnv(t, "RECOVERY_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "pgxstore_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		conn.Close(context.Background())
	})
	if err := MigrateUsers(ctx, conn, Options{Schema: schema}); err != nil {
		t.Fatal(err)
	}
	return conn, schema
}
