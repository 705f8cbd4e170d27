// Package passwordhash adapts the password hashes a service already stores
// to recovery.PasswordHasher: bcrypt, and a hasher that verifies several
// formats while it writes one, so a service can move from bcrypt to
// argon2id one reset (or sign-in) at a time:
//
//	cfg.Hasher = passwordhash.Multi{recovery.Argon2id{}, passwordhash.Bcrypt{}}
//
// New passwords are hashed with the first hasher (argon2id here); a stored
// hash is verified by the hasher that recognizes its format, so users whose
// password is still a bcrypt hash sign in with it until they reset it.
package passwordhash

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.PasswordHasher        = Bcrypt{}
	_ recovery.PasswordLengthLimiter = Bcrypt{}
	_ recovery.PasswordHasher        = Multi{}
	_ recovery.PasswordLengthLimiter = Multi{}
)

// BcryptMaxBytes is the longest password bcrypt reads. Bcrypt refuses
// longer ones rather than cut them, and says so through
// recovery.PasswordLengthLimiter, so the engine answers
// InvalidPasswordException before a code is used up.
const BcryptMaxBytes = 72

// Bcrypt hashes with golang.org/x/crypto/bcrypt ($2a$ strings) and verifies
// $2a$, $2b$ and $2y$ hashes. Its zero value uses bcrypt.DefaultCost.
type Bcrypt struct {
	// Cost is bcrypt's work factor, 4 to 31. Default bcrypt.DefaultCost
	// (10); OWASP advises at least 10.
	Cost int
}

// Hash returns the bcrypt hash of password, or an error for a password
// longer than BcryptMaxBytes.
func (b Bcrypt) Hash(password string) (string, error) {
	if len(password) > BcryptMaxBytes {
		return "", fmt.Errorf("passwordhash: bcrypt reads at most %d bytes; the password has %d", BcryptMaxBytes, len(password))
	}
	cost := b.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("passwordhash: bcrypt: %w", err)
	}
	return string(h), nil
}

// Verify reports whether password matches the bcrypt hash encoded, in
// constant time; a value that is no bcrypt hash is an error.
func (Bcrypt) Verify(password, encoded string) (bool, error) {
	if !(Bcrypt{}).Recognizes(encoded) {
		return false, errors.New("passwordhash: not a bcrypt hash")
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("passwordhash: bcrypt: %w", err)
}

// MaxPasswordBytes implements recovery.PasswordLengthLimiter.
func (Bcrypt) MaxPasswordBytes() int { return BcryptMaxBytes }

// Recognizes reports whether encoded looks like a bcrypt hash.
func (Bcrypt) Recognizes(encoded string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(encoded, p) {
			return true
		}
	}
	return false
}

// Recognizer is what Multi asks of its hashers: whether a stored hash is in
// the hasher's format. recovery.Argon2id and Bcrypt have it.
type Recognizer interface {
	Recognizes(encoded string) bool
}

// Multi hashes new passwords with its first hasher and verifies a stored
// hash with the first of its hashers that recognizes the hash's format
// (each must implement Recognizer). It is how a service moves from one
// format to another without asking every user to reset. Its length limit
// is its first hasher's.
type Multi []recovery.PasswordHasher

// Hash hashes with the first hasher.
func (m Multi) Hash(password string) (string, error) {
	if len(m) == 0 {
		return "", errors.New("passwordhash: Multi has no hasher: list the one that hashes new passwords first")
	}
	return m[0].Hash(password)
}

// Verify verifies with the hasher that recognizes encoded's format; a hash
// that none recognizes is an error.
func (m Multi) Verify(password, encoded string) (bool, error) {
	for _, h := range m {
		if r, ok := h.(Recognizer); ok && r.Recognizes(encoded) {
			return h.Verify(password, encoded)
		}
	}
	return false, errors.New("passwordhash: no hasher of Multi recognizes the stored hash's format")
}

// MaxPasswordBytes implements recovery.PasswordLengthLimiter with the
// first hasher's limit, 0 (none) if it has none.
func (m Multi) MaxPasswordBytes() int {
	if len(m) > 0 {
		if l, ok := m[0].(recovery.PasswordLengthLimiter); ok {
			return l.MaxPasswordBytes()
		}
	}
	return 0
}
