package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.UserStore          = (*UserStore)(nil)
	_ recovery.UserCreator        = (*UserStore)(nil)
	_ recovery.PasswordHashReader = (*UserStore)(nil)

	_ recovery.PasswordResetRequirer = (*UserStore)(nil)
)

// UserStore is a small recovery.UserStore on Redis, for demos and for
// services whose only shared state is Redis (examples/server -store redis):
// every instance on the same Redis and Prefix sees the same users, subs
// and passwords. It also creates users (recovery.UserCreator) and reads
// stored password hashes (recovery.PasswordHashReader), and requires
// password resets (recovery.PasswordResetRequirer); it keeps no
// password history. It is safe for concurrent use. Create it with
// NewUserStore.
//
// # Keys
//
// With the default Prefix "recovery:", each pool has four hashes, which
// share the Cluster hash tag {<pool>} so that every script touches one
// slot:
//
//	recovery:users:{<pool>}:index      u|<username>, s|<sub>, a|<alias> -> sub
//	recovery:users:{<pool>}:records    sub -> the user as JSON (no status, no password)
//	recovery:users:{<pool>}:status     sub -> status
//	recovery:users:{<pool>}:passwords  sub -> password hash
//
// Index fields hold recovery.FoldIdentifier forms. The aliases are
// preferred_username, and email and phone_number while verified; one alias
// field per value is what makes "a verified alias belongs to at most one
// user" hold, across the three attributes. A pool's users live in one slot,
// so one pool is served by one Cluster node. Users never expire.
//
// # Atomicity
//
// FindUser, CreateUser, SetPassword, RequirePasswordReset and
// StoredPasswordHash are one Lua script each (one round trip): a lookup
// tries the username, then the sub, then the aliases, so a key that is one user's username and another's
// alias finds the first; a creation checks the username, the sub and every
// alias and writes them all, or nothing, so concurrent creations of one
// username or alias from any number of processes leave one winner.
//
// The users are as durable as Redis is: run it with appendonly yes if they
// must survive a Redis restart.
type UserStore struct {
	c      redis.Scripter
	prefix string
}

// NewUserStore returns a user store on c, usually a redis.UniversalClient.
// It reports a nil client or an invalid Options.Prefix; it does not
// contact Redis.
func NewUserStore(c redis.Scripter, o Options) (*UserStore, error) {
	p, err := o.prefix(c)
	if err != nil {
		return nil, err
	}
	return &UserStore{c: c, prefix: p}, nil
}

// userRecord is what the records hash holds for a user.
type userRecord struct {
	Username   string            `json:"username"`
	Disabled   bool              `json:"disabled,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	SMSMFA     bool              `json:"sms_mfa,omitempty"`
	EmailMFA   bool              `json:"email_mfa,omitempty"`
}

// userKeys are the keys of a pool: index, records, status, passwords.
func (s *UserStore) userKeys(pool string) []string {
	base := s.prefix + "users:{" + tag(pool) + "}:"
	return []string{base + "index", base + "records", base + "status", base + "passwords"}
}

// FindUser implements recovery.UserStore.
func (s *UserStore) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (recovery.User, error) {
	if err := ctx.Err(); err != nil {
		return recovery.User{}, wrap("FindUser", err)
	}
	if q.Key == "" {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	res, err := findUserScript.Run(ctx, s.c, s.userKeys(pool)[:3], q.Key).StringSlice()
	if errors.Is(err, redis.Nil) {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	if err != nil {
		return recovery.User{}, wrap("FindUser", err)
	}
	if len(res) != 4 {
		return recovery.User{}, fmt.Errorf("redisstore: FindUser: the script returned %d values, want 4", len(res))
	}
	// A decoy's record is decoded too, so that nobody found costs what
	// somebody found does; then it is dropped.
	var r userRecord
	err = json.Unmarshal([]byte(res[1]), &r)
	if res[3] != "1" {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	if err != nil {
		return recovery.User{}, fmt.Errorf("redisstore: FindUser: the record of sub %s is not valid JSON: %w", res[0], err)
	}
	u := recovery.User{
		Sub: res[0], Username: r.Username, Disabled: r.Disabled, Status: recovery.UserStatus(res[2]),
		Attributes: r.Attributes, SMSMFA: r.SMSMFA, EmailMFA: r.EmailMFA,
	}
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	return u, nil
}

// SetPassword implements recovery.UserStore.
func (s *UserStore) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	if err := ctx.Err(); err != nil {
		return wrap("SetPassword", err)
	}
	n, err := setPasswordScript.Run(ctx, s.c, s.userKeys(pool)[1:], c.Sub, string(c.Status), c.PasswordHash).Int64()
	if err != nil {
		return wrap("SetPassword", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: SetPassword: no user has sub %s in pool %q: %w", c.Sub, pool, recovery.ErrUserNotFound)
	}
	return nil
}

// RequirePasswordReset implements recovery.PasswordResetRequirer in one
// script: the status becomes RESET_REQUIRED, the password hash stays.
func (s *UserStore) RequirePasswordReset(ctx context.Context, pool, sub string) error {
	if err := ctx.Err(); err != nil {
		return wrap("RequirePasswordReset", err)
	}
	n, err := requireResetScript.Run(ctx, s.c, s.userKeys(pool)[1:3], sub).Int64()
	if err != nil {
		return wrap("RequirePasswordReset", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: RequirePasswordReset: no user has sub %s in pool %q: %w", sub, pool, recovery.ErrUserNotFound)
	}
	return nil
}

// StoredPasswordHash implements recovery.PasswordHashReader: the current
// password hash of the user with exactly this sub, "" when the user has
// none.
func (s *UserStore) StoredPasswordHash(ctx context.Context, pool, sub string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", wrap("StoredPasswordHash", err)
	}
	keys := s.userKeys(pool)
	h, err := storedHashScript.Run(ctx, s.c, []string{keys[1], keys[3]}, sub).Text()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("redisstore: StoredPasswordHash: no user has sub %s in pool %q: %w", sub, pool, recovery.ErrUserNotFound)
	}
	if err != nil {
		return "", wrap("StoredPasswordHash", err)
	}
	return h, nil
}

// CreateUser implements recovery.UserCreator in one script. An empty u.Sub
// gets a random UUID; an empty Status is CONFIRMED; passwordHash may be
// empty (no password yet). A taken username or sub is an error wrapping
// recovery.ErrUsernameExists, a taken alias one wrapping
// recovery.ErrAliasExists; either way nothing is written.
func (s *UserStore) CreateUser(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error) {
	if err := ctx.Err(); err != nil {
		return recovery.User{}, wrap("CreateUser", err)
	}
	if u.Username == "" {
		return recovery.User{}, errors.New("redisstore: CreateUser: the user has no Username")
	}
	u.Attributes = maps.Clone(u.Attributes)
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	if u.Sub == "" {
		u.Sub = newUUID()
	}
	if u.Status == "" {
		u.Status = recovery.StatusConfirmed
	}
	rec, err := json.Marshal(userRecord{Username: u.Username, Disabled: u.Disabled, Attributes: u.Attributes, SMSMFA: u.SMSMFA, EmailMFA: u.EmailMFA})
	if err != nil {
		return recovery.User{}, fmt.Errorf("redisstore: CreateUser: %w", err)
	}
	args := []any{u.Sub, recovery.FoldIdentifier(u.Sub), recovery.FoldIdentifier(u.Username), rec, string(u.Status), passwordHash}
	for _, a := range userAliases(u) {
		args = append(args, a)
	}
	n, err := createUserScript.Run(ctx, s.c, s.userKeys(pool), args...).Int64()
	if err != nil {
		return recovery.User{}, wrap("CreateUser", err)
	}
	switch n {
	case 0:
		return u, nil
	case 1:
		return recovery.User{}, fmt.Errorf("redisstore: CreateUser: the username %q or the sub is taken in pool %q: %w", u.Username, pool, recovery.ErrUsernameExists)
	case 2:
		return recovery.User{}, fmt.Errorf("redisstore: CreateUser: a verified email, phone number or preferred_username of %q belongs to another user of pool %q: %w", u.Username, pool, recovery.ErrAliasExists)
	}
	return recovery.User{}, fmt.Errorf("redisstore: CreateUser: the script returned %d, want 0, 1 or 2", n)
}

// userAliases returns the folded aliases that identify u: preferred_username,
// and email and phone_number while verified.
func userAliases(u recovery.User) []string {
	var out []string
	if v := u.Attributes[recovery.AttrPreferredUsername]; v != "" {
		out = append(out, recovery.FoldIdentifier(v))
	}
	if v := u.Attributes[recovery.AttrEmail]; v != "" && u.Attributes[recovery.AttrEmailVerified] == "true" {
		out = append(out, recovery.FoldIdentifier(v))
	}
	if v := u.Attributes[recovery.AttrPhoneNumber]; v != "" && u.Attributes[recovery.AttrPhoneNumberVerified] == "true" {
		out = append(out, recovery.FoldIdentifier(v))
	}
	return out
}

// newUUID returns a random version 4 UUID, the form of Cognito's subs.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
