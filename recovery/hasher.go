package recovery

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordHasher turns passwords into stored hashes and checks them. Plug in
// your service's existing hasher so migrated and reset passwords share one
// format. Implementations must be safe for concurrent use.
type PasswordHasher interface {
	// Hash returns the encoded hash of password (salt and parameters
	// included).
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. A malformed encoded
	// value is an error.
	Verify(password, encoded string) (bool, error)
}

// PasswordLengthLimiter is an optional ability of a PasswordHasher that
// cannot hash passwords beyond a length (bcrypt reads 72 bytes at most):
// the engine refuses longer passwords with InvalidPasswordException before
// the code is used up, instead of failing after.
type PasswordLengthLimiter interface {
	MaxPasswordBytes() int
}

// Argon2id is the default PasswordHasher: argon2id from golang.org/x/crypto,
// encoded as a PHC string ($argon2id$v=19$m=19456,t=2,p=1$salt$hash). Zero
// fields take OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1
// lane, a 16-byte salt and a 32-byte key. Verify reads the parameters from
// the encoded hash, so raising them later still verifies old hashes.
type Argon2id struct {
	// Memory in KiB. Default 19456.
	Memory uint32
	// Iterations (passes). Default 2.
	Iterations uint32
	// Parallelism (lanes). Default 1.
	Parallelism uint8
	// Rand is the salt source. Default crypto/rand.
	Rand io.Reader
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

var errMalformedHash = errors.New("recovery: malformed argon2id hash")

// Hash returns the PHC-encoded argon2id hash of password.
func (a Argon2id) Hash(password string) (string, error) {
	m, t, p := a.Memory, a.Iterations, a.Parallelism
	if m == 0 {
		m = 19456
	}
	if t == 0 {
		t = 2
	}
	if p == 0 {
		p = 1
	}
	r := a.Rand
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("recovery: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, t, m, p, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Recognizes reports whether encoded is an argon2id PHC string, for hashers
// that verify several formats.
func (Argon2id) Recognizes(encoded string) bool { return strings.HasPrefix(encoded, "$argon2id$") }

// Verify reports whether password matches the PHC-encoded argon2id hash,
// comparing in constant time.
func (Argon2id) Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformedHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, errMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
