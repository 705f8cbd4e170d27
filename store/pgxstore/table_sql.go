package pgxstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recoverykit/recoverykit/recovery"
)

// quote quotes one identifier; table quotes a possibly qualified name.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

func (t Table) table() string { return pgx.Identifier(strings.Split(t.Name, ".")).Sanitize() }

// verifiedExpr is the SQL of a verified flag of row t.
func verifiedExpr(col string) string {
	switch col {
	case "":
		return "false"
	case AlwaysVerified:
		return "true"
	}
	return "coalesce(t." + quote(col) + ", false)"
}

// findSQL is FindUser's statement: one ranked branch per way to find a
// user (username, sub, verified email, verified phone), so that each can
// use its index and a username wins over another user's alias. $1 is the
// folded key; $2, with FindBySub, the key as a sub.
//
// When nobody matches, the row is a decoy (last column true), the table's
// first row, so that an unknown identifier costs the database what a known
// one does (see user_find.sql).
func (s *TableUserStore) findSQL() string {
	t := s.t
	col := func(c string) string {
		if c == "" {
			return "NULL::text"
		}
		return "t." + quote(c) + "::text"
	}
	enabled := "true"
	switch {
	case t.Disabled != "":
		enabled = "NOT coalesce(t." + quote(t.Disabled) + ", false)"
	case t.Enabled != "":
		enabled = "coalesce(t." + quote(t.Enabled) + ", false)"
	}
	list := strings.Join([]string{col(t.Sub), col(t.Username), col(t.Email), verifiedExpr(t.EmailVerified),
		col(t.Phone), verifiedExpr(t.PhoneVerified), enabled, col(t.Status), col(t.Locale)}, ", ")
	var branches []string
	branch := func(rank int, cond string) {
		branches = append(branches, fmt.Sprintf("SELECT %d AS rank, %s FROM %s t WHERE %s", rank, list, t.table(), cond))
	}
	if t.Username != "" {
		branch(0, "lower(t."+quote(t.Username)+") = $1")
	}
	if t.FindBySub {
		branch(1, "t."+quote(t.Sub)+" = $2")
	}
	if t.Email != "" {
		branch(2, "lower(t."+quote(t.Email)+") = $1 AND "+verifiedExpr(t.EmailVerified))
	}
	if t.Phone != "" {
		branch(3, "t."+quote(t.Phone)+" = $1 AND "+verifiedExpr(t.PhoneVerified))
	}
	return "WITH m AS (SELECT * FROM (" + strings.Join(branches, " UNION ALL ") + ") found ORDER BY rank LIMIT 1)\n" +
		"SELECT *, false AS decoy FROM m UNION ALL\n" +
		"SELECT *, true FROM (SELECT 9, " + list + " FROM " + t.table() + " t LIMIT 1) decoy WHERE NOT EXISTS (SELECT FROM m)"
}

// update is the UPDATE that stores a password: $n is the sub, $n+1 the
// hash, $n+2 the status (with a Status column); extra ANDs cond.
func (s *TableUserStore) update(n int, cond string) string {
	t := s.t
	set := fmt.Sprintf("%s = $%d", quote(t.PasswordHash), n+1)
	if t.Status != "" {
		set += fmt.Sprintf(", %s = $%d", quote(t.Status), n+2)
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s = $%d%s RETURNING 1", t.table(), set, quote(t.Sub), n, cond)
}

func (s *TableUserStore) setSQL() string { return s.update(1, "") }

func (s *TableUserStore) storedSQL() string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s = $1", quote(s.t.PasswordHash), s.t.table(), quote(s.t.Sub))
}

// resetSQL is RequirePasswordReset's statement: with a Status column it
// sets RESET_REQUIRED and keeps the hash; without one it replaces the hash
// with ” (valid in a NOT NULL column, and no hasher verifies a password
// against it), the one way this table can stop the old password.
func (s *TableUserStore) resetSQL() string {
	set := quote(s.t.PasswordHash) + " = ''"
	if s.t.Status != "" {
		set = quote(s.t.Status) + " = '" + string(recovery.StatusResetRequired) + "'"
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s = $1 RETURNING 1", s.t.table(), set, quote(s.t.Sub))
}

// changeArgs are the arguments of update from $n on.
func (s *TableUserStore) changeArgs(c recovery.PasswordChange) []any {
	args := []any{s.subParam(c.Sub), c.PasswordHash}
	if s.t.Status != "" {
		args = append(args, string(c.Status))
	}
	return args
}

// WithCodeStore returns a copy of s for a code store in the same database:
// SetPassword also voids the user's outstanding code in the same
// statement, and the engine consumes a code and sets the password in one
// transaction (recovery.CodeConsumingSetter), so a failure between the two
// cannot waste the code.
func (s *TableUserStore) WithCodeStore(codes *CodeStore) *TableUserStore {
	c := *s
	if codes == nil {
		return &c
	}
	codesTable := qualifier(codes.schema) + "recovery_codes"
	c.codes = codes
	c.findIssue = findIssueSQL(s.find, tableRowColumns, tableRowOut, eligibleTableRow, len(s.findArgs(recovery.UserQuery{}))+1, codes.schema)
	c.set = fmt.Sprintf(`WITH u AS (%s), c AS (
		UPDATE %s SET used = true WHERE pool = $%d AND user_key = $%d AND NOT used AND EXISTS (SELECT FROM u))
		SELECT 1 FROM u`, s.update(1, ""), codesTable, len(s.changeArgs(recovery.PasswordChange{}))+1, len(s.changeArgs(recovery.PasswordChange{}))+2)
	check := strings.TrimPrefix(query("code_check", codes.schema), "SELECT ")
	c.consuming = fmt.Sprintf(`WITH c AS (SELECT %s AS outcome), u AS (%s)
		SELECT CASE WHEN c.outcome = 1 AND NOT EXISTS (SELECT FROM u)
			THEN %srecovery_abort('pgxstore: the user to set the password of does not exist')
			ELSE c.outcome END FROM c`, check, s.update(11, " AND (SELECT outcome FROM c) = 1"), qualifier(codes.schema))
	return &c
}

// FindUser implements recovery.UserStore with one statement.
func (s *TableUserStore) FindUser(ctx context.Context, _ string, q recovery.UserQuery) (recovery.User, error) {
	var r tableRow
	err := queryRow(ctx, s.db, s.find, s.findArgs(q), r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && r.decoy {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	if err != nil {
		return recovery.User{}, interpretError(ctx, "FindUser", err)
	}
	return r.user(), nil
}

func (s *TableUserStore) findArgs(q recovery.UserQuery) []any {
	if s.t.FindBySub {
		return []any{q.Key, s.subParam(q.Key)}
	}
	return []any{q.Key}
}

// tableRow is a row of findSQL.
type tableRow struct {
	rank                                   int32
	sub                                    string
	username, email, phone, status, locale *string
	emailVerified, phoneVerified, enabled  bool
	decoy                                  bool // nobody found: see findSQL
}

// tableRowColumns names the columns of findSQL, in order, and tableRowOut
// is each as FindUserIssuing answers it (see foundUserOut).
var (
	tableRowColumns = []string{"rank", "sub", "username", "email", "email_verified", "phone",
		"phone_verified", "enabled", "status", "locale", "decoy"}
	tableRowOut = []string{"coalesce(f.rank, 0)", "coalesce(f.sub, '')", "f.username", "f.email",
		"coalesce(f.email_verified, false)", "f.phone", "coalesce(f.phone_verified, false)",
		"coalesce(f.enabled, false)", "f.status", "f.locale", "coalesce(f.decoy, false)"}
)

func (r *tableRow) dest() []any {
	return []any{&r.rank, &r.sub, &r.username, &r.email, &r.emailVerified, &r.phone, &r.phoneVerified,
		&r.enabled, &r.status, &r.locale, &r.decoy}
}

func (r *tableRow) user() recovery.User {
	u := recovery.User{Sub: r.sub, Username: r.sub, Disabled: !r.enabled, Status: recovery.StatusConfirmed, Attributes: map[string]string{}}
	if r.username != nil {
		u.Username = *r.username
	}
	if r.status != nil && *r.status != "" {
		u.Status = recovery.UserStatus(*r.status)
	}
	set := func(attr string, v *string) {
		if v != nil && *v != "" {
			u.Attributes[attr] = *v
		}
	}
	set(recovery.AttrEmail, r.email)
	set(recovery.AttrPhoneNumber, r.phone)
	set(recovery.AttrLocale, r.locale)
	if r.email != nil {
		u.Attributes[recovery.AttrEmailVerified] = fmt.Sprint(r.emailVerified)
	}
	if r.phone != nil {
		u.Attributes[recovery.AttrPhoneNumberVerified] = fmt.Sprint(r.phoneVerified)
	}
	return u
}

// eligibleTableRow is recovery.FindIssueParams' rule over a row of
// findSQL (the table has no MFA columns).
const eligibleTableRow = `f.enabled AND coalesce(f.status, '') IN ('CONFIRMED', 'RESET_REQUIRED', '') AND (
	('EMAIL' = ANY($media) AND coalesce(f.email, '') <> '' AND f.email_verified) OR
	('SMS' = ANY($media) AND coalesce(f.phone, '') <> '' AND f.phone_verified))`

// IssuesCodesOf implements recovery.CodeIssuingFinder: true for the code
// store given to WithCodeStore.
func (s *TableUserStore) IssuesCodesOf(codes recovery.CodeStore) bool {
	return s.ConsumesCodesOf(codes)
}

// FindUserIssuing implements recovery.CodeIssuingFinder with one
// statement: FindUser's and recovery_issue, so ForgotPassword costs one
// round trip.
func (s *TableUserStore) FindUserIssuing(ctx context.Context, pool string, q recovery.UserQuery, p recovery.FindIssueParams) (recovery.FoundIssue, error) {
	if s.codes == nil {
		return recovery.FoundIssue{}, errors.New("pgxstore: FindUserIssuing needs a store made by WithCodeStore")
	}
	var r tableRow
	res, ok, err := findIssue(ctx, s.db, s.findIssue, append(s.findArgs(q), issueArgs(pool, p)...), r.dest()...)
	if ok && r.sub != "" && !r.decoy {
		res.Found, res.User = true, r.user()
	}
	return res, err
}

// SetPassword implements recovery.UserStore with one statement (with
// WithCodeStore, it also voids the user's outstanding code).
func (s *TableUserStore) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	args := s.changeArgs(c)
	if s.codes != nil {
		args = append(args, pool, recovery.UserKey(c.Sub))
	}
	var one int
	err := queryRow(ctx, s.db, s.set, args, &one)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrUserNotFound
	}
	return interpretError(ctx, "SetPassword", err)
}

// RequirePasswordReset implements recovery.PasswordResetRequirer with one
// statement. With a Status column the status becomes RESET_REQUIRED and
// the hash stays (your sign-in must refuse such a user, as Cognito does
// with PasswordResetRequiredException); without one, the password hash is
// set to ”, so that the old password no longer signs in, and the user
// still appears CONFIRMED.
func (s *TableUserStore) RequirePasswordReset(ctx context.Context, _, sub string) error {
	var one int
	err := queryRow(ctx, s.db, s.reset, []any{s.subParam(sub)}, &one)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrUserNotFound
	}
	return interpretError(ctx, "RequirePasswordReset", err)
}

// StoredPasswordHash implements recovery.PasswordHashReader.
func (s *TableUserStore) StoredPasswordHash(ctx context.Context, _, sub string) (string, error) {
	var hash *string
	err := queryRow(ctx, s.db, s.stored, []any{s.subParam(sub)}, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", recovery.ErrUserNotFound
	case err != nil:
		return "", interpretError(ctx, "StoredPasswordHash", err)
	case hash == nil:
		return "", nil
	}
	return *hash, nil
}

// ConsumesCodesOf implements recovery.CodeConsumingSetter: true for the
// code store given to WithCodeStore.
func (s *TableUserStore) ConsumesCodesOf(codes recovery.CodeStore) bool {
	cs, ok := codes.(*CodeStore)
	return ok && s.codes != nil && cs == s.codes
}

// SetPasswordConsuming implements recovery.CodeConsumingSetter with one
// statement: the code is consumed and, on a match, the password stored;
// when the user is gone the statement aborts, so the code stays unused.
func (s *TableUserStore) SetPasswordConsuming(ctx context.Context, _ string, check recovery.CheckParams, c recovery.PasswordChange) (recovery.Outcome, error) {
	if s.codes == nil {
		return 0, errors.New("pgxstore: SetPasswordConsuming needs a store made by WithCodeStore")
	}
	var out int32
	if err := queryRow(ctx, s.db, s.consuming, append(checkArgs(check), s.changeArgs(c)...), &out); err != nil {
		return 0, interpretError(ctx, "SetPasswordConsuming", err)
	}
	return recovery.Outcome(out), nil
}

// Media implements recovery.MediaReporter: Email when the table has an
// Email column, SMS when it has a Phone column. The engine then never
// answers an unknown identifier with a medium no account can have.
func (s *TableUserStore) Media() []recovery.DeliveryMedium {
	var media []recovery.DeliveryMedium
	if s.t.Email != "" {
		media = append(media, recovery.Email)
	}
	if s.t.Phone != "" {
		media = append(media, recovery.SMS)
	}
	return media
}
