package recoverytest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.PasswordHasher = InsecureHasher{}

// InsecureHasher is a fast recovery.PasswordHasher for unit tests: unsalted
// SHA-256, so a test suite does not spend argon2id's ~20 ms per reset. Never
// use it outside tests.
type InsecureHasher struct{}

const insecurePrefix = "insecure-sha256$"

// Hash returns "insecure-sha256$" and the hex SHA-256 of password.
func (InsecureHasher) Hash(password string) (string, error) {
	sum := sha256.Sum256([]byte(password))
	return insecurePrefix + hex.EncodeToString(sum[:]), nil
}

// Verify reports whether password hashes to encoded.
func (h InsecureHasher) Verify(password, encoded string) (bool, error) {
	if !strings.HasPrefix(encoded, insecurePrefix) {
		return false, nil
	}
	want, _ := h.Hash(password)
	return subtle.ConstantTimeCompare([]byte(want), []byte(encoded)) == 1, nil
}
