package memstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"sync"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.UserStore             = (*UserStore)(nil)
	_ recovery.UserCreator           = (*UserStore)(nil)
	_ recovery.PasswordHistory       = (*UserStore)(nil)
	_ recovery.PasswordHashReader    = (*UserStore)(nil)
	_ recovery.PasswordResetRequirer = (*UserStore)(nil)
)

// maxHistory is how many password hashes a user's history keeps (Cognito's
// largest PasswordHistorySize).
const maxHistory = 24

// UserStore is an in-memory recovery.UserStore that also creates users (for
// the migration hook and for seeding tests) and keeps password history.
// Usernames and aliases match after recovery.FoldIdentifier. Users it returns
// are copies. The zero value is not usable; call NewUserStore.
type UserStore struct {
	mu    sync.RWMutex
	pools map[string]*poolUsers
}

type poolUsers struct {
	bySub      map[string]*userEntry
	bySubKey   map[string]string // folded sub -> sub
	byUsername map[string]string // folded username -> sub
	byAlias    map[string]string // folded preferred_username or verified email/phone -> sub
}

type userEntry struct {
	user   recovery.User
	hashes []string // newest first; hashes[0] is the current password
}

// NewUserStore returns an empty store.
func NewUserStore() *UserStore {
	return &UserStore{pools: make(map[string]*poolUsers)}
}

func (s *UserStore) pool(name string) *poolUsers {
	p, ok := s.pools[name]
	if !ok {
		p = &poolUsers{bySub: map[string]*userEntry{}, bySubKey: map[string]string{}, byUsername: map[string]string{}, byAlias: map[string]string{}}
		s.pools[name] = p
	}
	return p
}

// aliases returns the folded aliases that identify u: preferred_username,
// and email and phone_number when verified.
func aliases(u recovery.User) []string {
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

func clone(u recovery.User) recovery.User {
	u.Attributes = maps.Clone(u.Attributes)
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	return u
}

// find resolves a folded key: username first, then sub, then aliases.
func (p *poolUsers) find(key string) *userEntry {
	if sub, ok := p.byUsername[key]; ok {
		return p.bySub[sub]
	}
	if sub, ok := p.bySubKey[key]; ok {
		return p.bySub[sub]
	}
	if sub, ok := p.byAlias[key]; ok {
		return p.bySub[sub]
	}
	return nil
}

// FindUser implements recovery.UserStore.
func (s *UserStore) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (recovery.User, error) {
	if err := ctx.Err(); err != nil {
		return recovery.User{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.pools[pool]
	if !ok {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	e := p.find(q.Key)
	if e == nil {
		return recovery.User{}, recovery.ErrUserNotFound
	}
	return clone(e.user), nil
}

// SetPassword implements recovery.UserStore. The previous hash moves into the
// history.
func (s *UserStore) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pools[pool]
	if !ok || p.bySub[c.Sub] == nil {
		return recovery.ErrUserNotFound
	}
	e := p.bySub[c.Sub]
	e.hashes = append([]string{c.PasswordHash}, e.hashes...)
	if len(e.hashes) > maxHistory {
		e.hashes = e.hashes[:maxHistory]
	}
	e.user.Status = c.Status
	return nil
}

// RecentPasswordHashes implements recovery.PasswordHistory.
func (s *UserStore) RecentPasswordHashes(ctx context.Context, pool, sub string, n int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.pools[pool]
	if !ok || p.bySub[sub] == nil {
		return nil, recovery.ErrUserNotFound
	}
	h := p.bySub[sub].hashes
	return append([]string(nil), h[:min(n, len(h))]...), nil
}

// CreateUser implements recovery.UserCreator. An empty u.Sub gets a random
// UUID; an empty Status is CONFIRMED. passwordHash may be empty (no
// password yet).
func (s *UserStore) CreateUser(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error) {
	if err := ctx.Err(); err != nil {
		return recovery.User{}, err
	}
	if u.Username == "" {
		return recovery.User{}, fmt.Errorf("memstore: CreateUser: the user has no Username")
	}
	u = clone(u)
	if u.Sub == "" {
		u.Sub = newUUID()
	}
	if u.Status == "" {
		u.Status = recovery.StatusConfirmed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pool(pool)
	if err := p.checkFree(u, ""); err != nil {
		return recovery.User{}, err
	}
	e := &userEntry{user: u}
	if passwordHash != "" {
		e.hashes = []string{passwordHash}
	}
	p.index(e)
	return clone(u), nil
}

// UpdateUser replaces the stored user with the same Sub (username, state,
// attributes, MFA), keeping its password. Tests use it to disable a user or
// change what is verified.
func (s *UserStore) UpdateUser(ctx context.Context, pool string, u recovery.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pools[pool]
	if !ok || p.bySub[u.Sub] == nil {
		return recovery.ErrUserNotFound
	}
	u = clone(u)
	if err := p.checkFree(u, u.Sub); err != nil {
		return err
	}
	e := p.bySub[u.Sub]
	p.unindex(e)
	e.user = u
	p.index(e)
	return nil
}

// PasswordHash returns the current password hash of the user an identifier
// StoredPasswordHash implements recovery.PasswordHashReader: the current
// password hash of the user with this sub ("" for none).
func (s *UserStore) StoredPasswordHash(ctx context.Context, pool, sub string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.pools[pool]
	if !ok {
		return "", recovery.ErrUserNotFound
	}
	e, ok := p.bySub[sub]
	if !ok {
		return "", recovery.ErrUserNotFound
	}
	if len(e.hashes) == 0 {
		return "", nil
	}
	return e.hashes[0], nil
}

// (username, sub or alias) names, "" if the user has none.
func (s *UserStore) PasswordHash(ctx context.Context, pool, identifier string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.pools[pool]
	if !ok {
		return "", recovery.ErrUserNotFound
	}
	e := p.find(recovery.FoldIdentifier(identifier))
	if e == nil {
		return "", recovery.ErrUserNotFound
	}
	if len(e.hashes) == 0 {
		return "", nil
	}
	return e.hashes[0], nil
}

// checkFree reports whether u's username and aliases are free for it
// (self is the sub allowed to hold them already).
func (p *poolUsers) checkFree(u recovery.User, self string) error {
	if sub, ok := p.byUsername[recovery.FoldIdentifier(u.Username)]; ok && sub != self {
		return recovery.ErrUsernameExists
	}
	if e, ok := p.bySub[u.Sub]; ok && u.Sub != self && e != nil {
		return recovery.ErrUsernameExists
	}
	for _, a := range aliases(u) {
		if sub, ok := p.byAlias[a]; ok && sub != self {
			return recovery.ErrAliasExists
		}
	}
	return nil
}

func (p *poolUsers) index(e *userEntry) {
	p.bySub[e.user.Sub] = e
	p.bySubKey[recovery.FoldIdentifier(e.user.Sub)] = e.user.Sub
	p.byUsername[recovery.FoldIdentifier(e.user.Username)] = e.user.Sub
	for _, a := range aliases(e.user) {
		p.byAlias[a] = e.user.Sub
	}
}

func (p *poolUsers) unindex(e *userEntry) {
	delete(p.byUsername, recovery.FoldIdentifier(e.user.Username))
	for _, a := range aliases(e.user) {
		delete(p.byAlias, a)
	}
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// RequirePasswordReset implements recovery.PasswordResetRequirer: the
// status becomes RESET_REQUIRED, the password hash stays.
func (s *UserStore) RequirePasswordReset(ctx context.Context, pool, sub string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pools[pool]
	if !ok || p.bySub[sub] == nil {
		return recovery.ErrUserNotFound
	}
	p.bySub[sub].user.Status = recovery.StatusResetRequired
	return nil
}
