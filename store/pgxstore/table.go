package pgxstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.UserStore           = (*TableUserStore)(nil)
	_ recovery.PasswordHashReader  = (*TableUserStore)(nil)
	_ recovery.CodeConsumingSetter = (*TableUserStore)(nil)

	_ recovery.PasswordResetRequirer = (*TableUserStore)(nil)
)

// AlwaysVerified, as Table.EmailVerified or Table.PhoneVerified, says every
// stored address or number is verified (the application checked it at
// sign-up), so the table needs no flag column.
const AlwaysVerified = "(always verified)"

// Table describes an existing users table for NewTableUserStore, by its
// column names. Only the columns named are read; SetPassword writes the
// password hash (and the status, when there is a Status column), and
// RequirePasswordReset the status (without one, it clears the hash).
type Table struct {
	// Name is the table, optionally qualified by its schema ("accounts",
	// "app.accounts"). Required.
	Name string
	// Sub is the column of the user's stable, unique id, of a text,
	// integer or uuid type; its text form is the user's sub. Required.
	Sub string
	// Username, Email and Phone are the columns a user may be found by;
	// name at least one. Username and Email match when lower(column)
	// equals recovery.FoldIdentifier(identifier) (exactly so for ASCII;
	// store other scripts in NFC); Phone matches the E.164 number as
	// stored. Each wants an index: CREATE UNIQUE INDEX ON accounts
	// (lower(email)) (with WHERE email_verified, if verified addresses
	// alone are unique).
	Username, Email, Phone string
	// EmailVerified and PhoneVerified are boolean columns, true when the
	// address or number is verified, or AlwaysVerified. Required with
	// Email and Phone: only a verified one finds a user or gets a code.
	EmailVerified, PhoneVerified string
	// PasswordHash is the column of the password hash. Required.
	PasswordHash string
	// Disabled is a boolean column, true for a disabled account; Enabled
	// is one true for an enabled account. At most one; neither: every
	// account is enabled.
	Disabled, Enabled string
	// Status is a text column of Cognito's user statuses (CONFIRMED,
	// RESET_REQUIRED, ...). Default: none, every account is CONFIRMED,
	// and an administrator's reset clears the password hash instead.
	Status string
	// Locale is a text column of the user's language, for the message.
	Locale string
	// FindBySub lets an identifier match the Sub column too, as Cognito
	// lets a sub name its user. Off by default: with a sequential id as the
	// sub, the username "42" would start a reset for account 42.
	FindBySub bool
}

// TableUserStore is a recovery.UserStore over a users table the
// application already has: one statement per call, generated once from a
// Table. It does not create users (no user-migration hook) and keeps no
// password history. It is safe for concurrent use.
type TableUserStore struct {
	db        DBTX
	t         Table
	subType   string // the Sub column's type: the cast of a sub parameter
	find      string
	set       string
	stored    string
	codes     *CodeStore // with WithCodeStore
	consuming string     // with WithCodeStore
	findIssue string     // with WithCodeStore: find and recovery_issue
	reset     string
}

var identifierPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// NewTableUserStore checks t against the database (the table and every
// column named must exist, flags must be boolean) and returns a store that
// reads and writes it through db.
func NewTableUserStore(ctx context.Context, db DBTX, t Table) (*TableUserStore, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	types, err := columnTypes(ctx, db, t.Name)
	if err != nil {
		return nil, err
	}
	if err := t.checkColumns(types); err != nil {
		return nil, err
	}
	s := &TableUserStore{db: db, t: t, subType: types[t.Sub]}
	s.find, s.set, s.stored, s.reset = s.findSQL(), s.setSQL(), s.storedSQL(), s.resetSQL()
	return s, nil
}

func (t Table) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("pgxstore: Table."+format, args...))
	}
	if t.Name == "" {
		add("Name is empty: name the users table")
	}
	for _, part := range strings.Split(t.Name, ".") {
		if t.Name != "" && !identifierPattern.MatchString(part) {
			add("Name %q: use a table name, optionally schema.table, of letters, digits and _", t.Name)
			break
		}
	}
	if t.Sub == "" || t.PasswordHash == "" {
		add("Sub and PasswordHash are required: name the id column and the password hash column")
	}
	if t.Username == "" && t.Email == "" && t.Phone == "" {
		add("Username, Email and Phone are all empty: name at least one column users are found by")
	}
	if t.Email != "" && t.EmailVerified == "" {
		add("EmailVerified is empty: name a boolean column, or set it to pgxstore.AlwaysVerified if every stored address is verified")
	}
	if t.Phone != "" && t.PhoneVerified == "" {
		add("PhoneVerified is empty: name a boolean column, or set it to pgxstore.AlwaysVerified if every stored number is verified")
	}
	if t.Disabled != "" && t.Enabled != "" {
		add("Disabled and Enabled are both set: name one of them")
	}
	return errors.Join(errs...)
}

// columnTypes reads the table's columns and their types.
func columnTypes(ctx context.Context, db DBTX, table string) (map[string]string, error) {
	rows, err := db.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, table)
	if err != nil {
		return nil, interpretError(ctx, "NewTableUserStore", err)
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		return c, r.Scan(&c[0], &c[1])
	})
	if err != nil {
		return nil, interpretError(ctx, "NewTableUserStore", err)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("pgxstore: table %q does not exist (or has no columns) for this connection's search_path", table)
	}
	out := map[string]string{}
	for _, c := range types {
		out[c[0]] = c[1]
	}
	return out, nil
}

// checkColumns checks that every column named exists with a usable type.
func (t Table) checkColumns(types map[string]string) error {
	var errs []error
	for _, c := range []struct{ field, col, kind string }{
		{"Sub", t.Sub, "id"}, {"PasswordHash", t.PasswordHash, "text"}, {"Username", t.Username, "text"},
		{"Email", t.Email, "text"}, {"Phone", t.Phone, "text"}, {"Status", t.Status, "text"}, {"Locale", t.Locale, "text"},
		{"EmailVerified", t.EmailVerified, "bool"}, {"PhoneVerified", t.PhoneVerified, "bool"},
		{"Disabled", t.Disabled, "bool"}, {"Enabled", t.Enabled, "bool"},
	} {
		if c.col == "" || c.col == AlwaysVerified {
			continue
		}
		typ, ok := types[c.col]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("pgxstore: Table.%s: table %s has no column %q", c.field, t.Name, c.col))
		case c.kind == "bool" && typ != "boolean":
			errs = append(errs, fmt.Errorf("pgxstore: Table.%s: column %q is %s, not boolean", c.field, c.col, typ))
		case c.kind == "id" && subKind(typ) == "":
			errs = append(errs, fmt.Errorf("pgxstore: Table.Sub: column %q is %s: use a text, integer or uuid column", c.col, typ))
		}
	}
	return errors.Join(errs...)
}

// subKind is "int", "uuid" or "text" for a usable sub column type.
func subKind(typ string) string {
	switch {
	case typ == "integer" || typ == "bigint" || typ == "smallint":
		return "int"
	case typ == "uuid":
		return "uuid"
	case typ == "text" || strings.HasPrefix(typ, "character varying") || strings.HasPrefix(typ, "character("):
		return "text"
	}
	return ""
}

var uuidText = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// subParam is key as a value of the sub column's type, or nil when it
// cannot be one (so it matches nothing, without a failing cast).
func (s *TableUserStore) subParam(key string) any {
	switch subKind(s.subType) {
	case "int":
		if n, err := strconv.ParseInt(key, 10, 64); err == nil && strconv.FormatInt(n, 10) == key {
			return n
		}
		return nil
	case "uuid":
		if uuidText.MatchString(key) {
			return key
		}
		return nil
	}
	return key
}
