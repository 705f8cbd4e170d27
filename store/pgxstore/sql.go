package pgxstore

import (
	"embed"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/codes/*.sql migrations/users/*.sql
var migrationFiles embed.FS

//go:embed queries/*.sql
var queryFiles embed.FS

// CodeMigrations returns the versioned SQL files that Migrate applies
// (001_init.up.sql, 002_budgets.up.sql, ...) with their .down.sql
// counterparts, for migration tools of your own: the code store's and the
// request limiter's tables and functions. Each name is NNN_name.up.sql or
// NNN_name.down.sql, NNN the version. The files mark every table and
// function name with /* TEMPLATE: schema */: replace the marker with the
// quoted schema and a dot ("recovery".), or leave it and run the file with
// that schema first in search_path.
func CodeMigrations() fs.FS { return mustSub(migrationFiles, "migrations/codes") }

// UserMigrations returns the files MigrateUsers applies: the reference user
// store's tables (recovery_users, recovery_user_aliases), a track of its
// own, versioned from 001 and named and marked as CodeMigrations' files.
func UserMigrations() fs.FS { return mustSub(migrationFiles, "migrations/users") }

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // unreachable: dir is embedded
	}
	return sub
}

// The markers that the SQL files carry in front of table and function names.
const (
	schemaMarker      = "/* TEMPLATE: schema */"
	codesSchemaMarker = "/* TEMPLATE: codes_schema */"
)

// qualifier is the prefix that makes a name live in schema: the quoted
// identifier and a dot.
func qualifier(schema string) string {
	return pgx.Identifier{schema}.Sanitize() + "."
}

// render returns the SQL text with its markers replaced by schema
// qualifiers; pairs alternate marker and schema.
func render(sql string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		sql = strings.ReplaceAll(sql, pairs[i], qualifier(pairs[i+1]))
	}
	return sql
}

// query returns the statement of queries/name.sql without its header
// comment, for schema.
func query(name, schema string) string {
	return queryWith(name, schemaMarker, schema)
}

// queryWith is query with explicit marker and schema pairs.
func queryWith(name string, pairs ...string) string {
	b, err := queryFiles.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic("pgxstore: missing query file " + name) // unreachable: the names are constants
	}
	var body []string
	header := true
	for line := range strings.Lines(string(b)) {
		if header && strings.HasPrefix(line, "--") {
			continue
		}
		header = false
		body = append(body, line)
	}
	return strings.TrimSpace(render(strings.Join(body, ""), pairs...))
}
