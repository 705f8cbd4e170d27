package pgxstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.UserStore           = (*UserStore)(nil)
	_ recovery.UserCreator         = (*UserStore)(nil)
	_ recovery.PasswordHistory     = (*UserStore)(nil)
	_ recovery.PasswordHashReader  = (*UserStore)(nil)
	_ recovery.CodeConsumingSetter = (*UserStore)(nil)

	_ recovery.PasswordResetRequirer = (*UserStore)(nil)
)

// UserStore is the reference recovery.UserStore on PostgreSQL: the users
// of every pool in recovery_users, their aliases in recovery_user_aliases.
// It also creates users (recovery.UserCreator, for the migration hook),
// keeps up to 24 password hashes per user, the current one included
// (recovery.PasswordHistory; Cognito's largest PasswordHistorySize), seeds
// users (UpsertUser) and reads password hashes for a sign-in flow
// (PasswordHash). It is safe for concurrent use. Create it with
// NewUserStore.
//
// # The tables
//
// recovery_users has one row per (pool, sub): username, email,
// email_verified, phone_number, phone_number_verified, preferred_username,
// enabled, status, password_hash, password_history (the previous hashes,
// newest first), attributes (every other attribute, a JSON object of
// strings), sms_mfa, email_mfa, created_at, updated_at, and sub_key and
// username_key, the recovery.FoldIdentifier forms of sub and username,
// computed in Go when the row is written. A unique index on (pool,
// username_key) makes usernames unique per pool after folding.
//
// recovery_user_aliases has one row per (pool, alias_key): the folded
// preferred_username, and the folded email and phone_number while verified,
// each pointing at its user's sub. Its primary key is what makes "a
// verified alias belongs to at most one user" hold, across the three
// attributes: two users can share neither a verified email nor a
// preferred_username, nor can one's preferred_username be another's
// verified email. (Per-attribute partial unique indexes on recovery_users
// could not refuse that last case.) An unverified email or phone number is
// no alias and may repeat.
//
// FindUser is one statement of three index probes: username first, then
// sub, then alias, so a key that is one user's username and another's alias
// finds the first.
//
// # Wrapping an existing users table
//
// Your users probably live in a table of your own. Rather than copy them
// into recovery_users, implement recovery.UserStore over it: one FindUser
// query (with folded, indexed lookup columns) and one SetPassword update.
// The example "AccountsTable" shows how.
type UserStore struct {
	db           DBTX
	schema       string
	withCodes    bool       // setPassword also invalidates codes: it takes $5
	codes        *CodeStore // with withCodes: the code store whose rows it touches
	setConsuming string     // with withCodes: user_set_password_consuming.sql
	findIssue    string     // with withCodes: user_find.sql and recovery_issue
	find         string
	passwordHash string
	storedHash   string
	setPassword  string
	recent       string
	create       string
	upsert       string
	requireReset string
}

// NewUserStore returns a user store that runs its statements on db in the
// schema of opts, which Migrate must have prepared.
func NewUserStore(db DBTX, opts Options) (*UserStore, error) {
	opts, err := prepare("NewUserStore", db, opts)
	if err != nil {
		return nil, err
	}
	sc := opts.Schema
	return &UserStore{
		db:           db,
		schema:       sc,
		find:         query("user_find", sc),
		passwordHash: query("user_password_hash", sc),
		storedHash:   query("user_stored_hash", sc),
		setPassword:  query("user_set_password", sc),
		recent:       query("user_recent_hashes", sc),
		create:       query("user_create", sc),
		upsert:       query("user_upsert", sc),
		requireReset: query("user_require_reset", sc),
	}, nil
}

// WithCodeStore returns a copy of s whose SetPassword also invalidates the
// user's outstanding code (the row of recovery.UserKey(sub)) in codes, in
// the same statement and so in the same transaction: a password set by any
// path (a confirmed reset, an administrator, a sign-up flow) leaves no
// recovery code usable. codes must live in the same database as s; its
// schema may differ.
func (s *UserStore) WithCodeStore(codes *CodeStore) *UserStore {
	c := *s
	if codes != nil {
		c.setPassword = queryWith("user_set_password_codes", schemaMarker, s.schema, codesSchemaMarker, codes.schema)
		c.setConsuming = queryWith("user_set_password_consuming", schemaMarker, s.schema, codesSchemaMarker, codes.schema)
		c.findIssue = findIssueSQL(s.find, foundUserColumns, foundUserOut, eligibleUser, 3, codes.schema)
		c.withCodes = true
		c.codes = codes
	}
	return &c
}

// ConsumesCodesOf implements recovery.CodeConsumingSetter: true for the
// code store given to WithCodeStore.
func (s *UserStore) ConsumesCodesOf(codes recovery.CodeStore) bool {
	cs, ok := codes.(*CodeStore)
	return ok && s.withCodes && cs == s.codes
}

// SetPasswordConsuming implements recovery.CodeConsumingSetter with one
// statement, and so one transaction: recovery_check consumes the code and,
// on a match, the password is stored as SetPassword stores it. When the
// code matched but the user is gone, the statement aborts itself, so the
// code stays unused.
func (s *UserStore) SetPasswordConsuming(ctx context.Context, pool string, check recovery.CheckParams, c recovery.PasswordChange) (recovery.Outcome, error) {
	if !s.withCodes {
		return 0, errors.New("pgxstore: SetPasswordConsuming needs a user store made by WithCodeStore")
	}
	args := append(checkArgs(check), c.Sub, c.PasswordHash, string(c.Status))
	var out int32
	if err := queryRow(ctx, s.db, s.setConsuming, args, &out); err != nil {
		return 0, interpretError(ctx, "SetPasswordConsuming", err)
	}
	return recovery.Outcome(out), nil
}

// FindUser implements recovery.UserStore with one statement.
func (s *UserStore) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (recovery.User, error) {
	if q.Key == "" {
		if err := ctx.Err(); err != nil {
			return recovery.User{}, err
		}
		return recovery.User{}, recovery.ErrUserNotFound
	}
	var r foundUser
	err := queryRow(ctx, s.db, s.find, []any{pool, q.Key}, r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && r.decoy {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	if err != nil {
		return recovery.User{}, interpretError(ctx, "FindUser", err)
	}
	return r.user(), nil
}

// foundUser is a row of user_find.sql.
type foundUser struct {
	sub, username, status                 string
	email, phone, preferred               *string
	enabled, emailVerified, phoneVerified bool
	smsMFA, emailMFA                      bool
	attrs                                 map[string]string
	decoy                                 bool // nobody found: see user_find.sql
}

// foundUserColumns names the columns of user_find.sql, in order, and
// foundUserOut is each as FindUserIssuing answers it: coalesced where no
// user found would answer NULL to a scan target that cannot hold it.
var (
	foundUserColumns = []string{"sub", "username", "enabled", "status", "email", "email_verified",
		"phone_number", "phone_number_verified", "preferred_username", "attributes", "sms_mfa", "email_mfa", "decoy"}
	foundUserOut = []string{"coalesce(f.sub, '')", "coalesce(f.username, '')", "coalesce(f.enabled, false)",
		"coalesce(f.status, '')", "f.email", "coalesce(f.email_verified, false)", "f.phone_number",
		"coalesce(f.phone_number_verified, false)", "f.preferred_username", "f.attributes",
		"coalesce(f.sms_mfa, false)", "coalesce(f.email_mfa, false)", "coalesce(f.decoy, false)"}
)

func (r *foundUser) dest() []any {
	return []any{&r.sub, &r.username, &r.enabled, &r.status, &r.email, &r.emailVerified, &r.phone,
		&r.phoneVerified, &r.preferred, &r.attrs, &r.smsMFA, &r.emailMFA, &r.decoy}
}

func (r *foundUser) user() recovery.User {
	u := recovery.User{Sub: r.sub, Username: r.username, Disabled: !r.enabled,
		Status: recovery.UserStatus(r.status), SMSMFA: r.smsMFA, EmailMFA: r.emailMFA}
	attrs := r.attrs
	if attrs == nil {
		attrs = make(map[string]string, 6)
	}
	if r.email != nil {
		attrs[recovery.AttrEmail] = *r.email
	}
	if r.email != nil || r.emailVerified {
		attrs[recovery.AttrEmailVerified] = fmt.Sprint(r.emailVerified)
	}
	if r.phone != nil {
		attrs[recovery.AttrPhoneNumber] = *r.phone
	}
	if r.phone != nil || r.phoneVerified {
		attrs[recovery.AttrPhoneNumberVerified] = fmt.Sprint(r.phoneVerified)
	}
	if r.preferred != nil {
		attrs[recovery.AttrPreferredUsername] = *r.preferred
	}
	u.Attributes = attrs
	return u
}

// eligibleUser is recovery.FindIssueParams' rule over a row of
// user_find.sql.
const eligibleUser = `f.enabled AND f.status IN ('CONFIRMED', 'RESET_REQUIRED', '') AND (
	('EMAIL' = ANY($media) AND coalesce(f.email, '') <> '' AND f.email_verified AND NOT f.email_mfa) OR
	('SMS' = ANY($media) AND coalesce(f.phone_number, '') <> '' AND f.phone_number_verified AND NOT f.sms_mfa))`

// IssuesCodesOf implements recovery.CodeIssuingFinder: true for the code
// store given to WithCodeStore.
func (s *UserStore) IssuesCodesOf(codes recovery.CodeStore) bool { return s.ConsumesCodesOf(codes) }

// FindUserIssuing implements recovery.CodeIssuingFinder with one
// statement: user_find.sql and recovery_issue, so ForgotPassword costs one
// round trip.
func (s *UserStore) FindUserIssuing(ctx context.Context, pool string, q recovery.UserQuery, p recovery.FindIssueParams) (recovery.FoundIssue, error) {
	if !s.withCodes {
		return recovery.FoundIssue{}, errors.New("pgxstore: FindUserIssuing needs a user store made by WithCodeStore")
	}
	var r foundUser
	res, ok, err := findIssue(ctx, s.db, s.findIssue, append([]any{pool, q.Key}, issueArgs(pool, p)...), r.dest()...)
	if ok && r.sub != "" && !r.decoy {
		res.Found, res.User = true, r.user()
	}
	return res, err
}

// PasswordHash returns the current password hash of the user an identifier
// (username, sub or alias, folded with recovery.FoldIdentifier) names, ""
// if the user has none, or an error wrapping recovery.ErrUserNotFound. It is
// one statement, for a sign-in flow that verifies passwords against this
// store.
func (s *UserStore) PasswordHash(ctx context.Context, pool, identifier string) (string, error) {
	key := recovery.FoldIdentifier(identifier)
	if key == "" {
		return "", recovery.ErrUserNotFound
	}
	var hash *string
	err := queryRow(ctx, s.db, s.passwordHash, []any{pool, key}, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", recovery.ErrUserNotFound
	}
	if err != nil {
		return "", interpretError(ctx, "PasswordHash", err)
	}
	if hash == nil {
		return "", nil
	}
	return *hash, nil
}

// StoredPasswordHash implements recovery.PasswordHashReader with one
// statement: the current hash of the user with exactly this sub.
func (s *UserStore) StoredPasswordHash(ctx context.Context, pool, sub string) (string, error) {
	var hash *string
	err := queryRow(ctx, s.db, s.storedHash, []any{pool, sub}, &hash)
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

// SetPassword implements recovery.UserStore with one statement: the previous
// hash moves into the history, and with WithCodeStore the user's
// outstanding code is invalidated in the same statement.
func (s *UserStore) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	args := []any{pool, c.Sub, c.PasswordHash, string(c.Status)}
	if s.withCodes {
		args = append(args, recovery.UserKey(c.Sub))
	}
	var sub string
	err := queryRow(ctx, s.db, s.setPassword, args, &sub)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrUserNotFound
	}
	return interpretError(ctx, "SetPassword", err)
}

// RequirePasswordReset implements recovery.PasswordResetRequirer with one
// statement: the status becomes RESET_REQUIRED, the password hash and its
// history stay. PasswordHash still returns the hash: a sign-in flow over
// this store must read the status (FindUser) and refuse a RESET_REQUIRED
// user first.
func (s *UserStore) RequirePasswordReset(ctx context.Context, pool, sub string) error {
	var got string
	err := queryRow(ctx, s.db, s.requireReset, []any{pool, sub}, &got)
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrUserNotFound
	}
	return interpretError(ctx, "RequirePasswordReset", err)
}

// RecentPasswordHashes implements recovery.PasswordHistory: up to n of the
// user's hashes, newest first, the current one included.
func (s *UserStore) RecentPasswordHashes(ctx context.Context, pool, sub string, n int) ([]string, error) {
	var (
		current *string
		history []string
	)
	err := queryRow(ctx, s.db, s.recent, []any{pool, sub}, &current, &history)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, recovery.ErrUserNotFound
	}
	if err != nil {
		return nil, interpretError(ctx, "RecentPasswordHashes", err)
	}
	var out []string
	if current != nil {
		out = append(out, *current)
	}
	out = append(out, history...)
	return out[:max(0, min(n, len(out)))], nil
}

// CreateUser implements recovery.UserCreator with one statement. An empty
// u.Sub gets a random UUID; an empty Status is CONFIRMED; passwordHash may
// be empty (no password yet).
func (s *UserStore) CreateUser(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error) {
	if u.Username == "" {
		return recovery.User{}, errors.New("pgxstore: CreateUser: the user has no Username")
	}
	u = normalize(u)
	if u.Sub == "" {
		u.Sub = newUUID()
	}
	r := toRow(u)
	var sub string
	err := queryRow(ctx, s.db, s.create, []any{
		pool, u.Sub, recovery.FoldIdentifier(u.Sub), u.Username, recovery.FoldIdentifier(u.Username),
		r.email, r.emailVerified, r.phone, r.phoneVerified, r.preferred,
		!u.Disabled, string(u.Status), nullIfEmpty(passwordHash), r.others, u.SMSMFA, u.EmailMFA,
		r.aliasKeys, r.aliasAttrs,
	}, &sub)
	if err != nil {
		return recovery.User{}, interpretUserError(ctx, "CreateUser", err)
	}
	return u, nil
}

// UpsertUser creates or replaces a user, for seeding a store (from a JSON
// file, say) and for administration, in one statement. The user is the one
// with u.Sub or, when u.Sub is empty, the one whose username matches after
// folding, or else a new user with a random UUID as sub. Its username,
// state, attributes and MFA flags become u's and its aliases follow them. A
// non-empty passwordHash becomes the current password (the previous one
// moves into the history); an empty one keeps the stored password (none
// for a new user). An empty Status is CONFIRMED. It returns the user as
// stored; a username or alias that belongs to another user is an error
// wrapping recovery.ErrUsernameExists or recovery.ErrAliasExists.
func (s *UserStore) UpsertUser(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error) {
	if u.Username == "" {
		return recovery.User{}, errors.New("pgxstore: UpsertUser: the user has no Username")
	}
	u = normalize(u)
	var sub any // NULL: find by username, else newSub
	newSub := u.Sub
	if u.Sub != "" {
		sub = u.Sub
	} else {
		newSub = newUUID()
	}
	r := toRow(u)
	var got string
	err := queryRow(ctx, s.db, s.upsert, []any{
		pool, sub, newSub, recovery.FoldIdentifier(newSub), u.Username, recovery.FoldIdentifier(u.Username),
		r.email, r.emailVerified, r.phone, r.phoneVerified, r.preferred,
		!u.Disabled, string(u.Status), nullIfEmpty(passwordHash), r.others, u.SMSMFA, u.EmailMFA,
		r.aliasKeys, r.aliasAttrs,
	}, &got)
	if err != nil {
		return recovery.User{}, interpretUserError(ctx, "UpsertUser", err)
	}
	u.Sub = got
	return u, nil
}

// normalize returns a copy of u with its own attribute map and a status.
func normalize(u recovery.User) recovery.User {
	u.Attributes = maps.Clone(u.Attributes)
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	if u.Status == "" {
		u.Status = recovery.StatusConfirmed
	}
	return u
}

// userRow is a user's attributes as recovery_users columns, with its aliases.
type userRow struct {
	email, phone, preferred      *string
	emailVerified, phoneVerified bool
	others                       map[string]string
	aliasKeys, aliasAttrs        []string
}

// columnAttrs are the attributes that have columns of their own.
var columnAttrs = []string{
	recovery.AttrEmail, recovery.AttrEmailVerified,
	recovery.AttrPhoneNumber, recovery.AttrPhoneNumberVerified,
	recovery.AttrPreferredUsername,
}

func toRow(u recovery.User) userRow {
	a := u.Attributes
	var r userRow
	opt := func(name string) *string {
		if v, ok := a[name]; ok {
			return &v
		}
		return nil
	}
	r.email, r.phone, r.preferred = opt(recovery.AttrEmail), opt(recovery.AttrPhoneNumber), opt(recovery.AttrPreferredUsername)
	r.emailVerified = a[recovery.AttrEmailVerified] == "true"
	r.phoneVerified = a[recovery.AttrPhoneNumberVerified] == "true"
	r.others = maps.Clone(a)
	for _, k := range columnAttrs {
		delete(r.others, k)
	}
	seen := map[string]bool{}
	alias := func(value, attr string, ok bool) {
		if !ok || value == "" {
			return
		}
		k := recovery.FoldIdentifier(value)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		r.aliasKeys = append(r.aliasKeys, k)
		r.aliasAttrs = append(r.aliasAttrs, attr)
	}
	alias(a[recovery.AttrPreferredUsername], recovery.AttrPreferredUsername, true)
	alias(a[recovery.AttrEmail], recovery.AttrEmail, r.emailVerified)
	alias(a[recovery.AttrPhoneNumber], recovery.AttrPhoneNumber, r.phoneVerified)
	if r.aliasKeys == nil {
		r.aliasKeys, r.aliasAttrs = []string{}, []string{}
	}
	return r
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
