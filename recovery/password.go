package recovery

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordPolicy is Cognito's password policy.
type PasswordPolicy struct {
	// MinLength is the minimum length in characters, 6 to 99.
	MinLength int
	// MaxLength is the maximum length in characters, MinLength to 256.
	// Zero means 256, Cognito's limit.
	MaxLength int
	// RequireUppercase, RequireLowercase, RequireNumbers and RequireSymbols
	// each demand at least one such character. Symbols are Cognito's set:
	// ^ $ * . [ ] { } ( ) ? - " ! @ # % & / \ , > < ' : ; | _ ~ ` + =
	RequireUppercase, RequireLowercase, RequireNumbers, RequireSymbols bool
	// HistorySize refuses the user's last HistorySize passwords
	// (PasswordHistoryPolicyViolationException), 0 to 24. Needs a UserStore
	// that implements PasswordHistory.
	HistorySize int
}

// DefaultPasswordPolicy returns Cognito's default: at least 8 characters with
// upper case, lower case, a digit and a symbol, no history.
func DefaultPasswordPolicy() *PasswordPolicy {
	return &PasswordPolicy{MinLength: 8, RequireUppercase: true, RequireLowercase: true, RequireNumbers: true, RequireSymbols: true}
}

// DefaultPasswordMaxLength is Cognito's longest password, in characters.
const DefaultPasswordMaxLength = 256

const cognitoSymbols = "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+="

// Check returns nil when password satisfies the policy, else an
// InvalidPasswordException naming the first rule it breaks, in Cognito's
// wording ("Password does not conform to policy: Password not long enough").
// It never includes the password.
func (p *PasswordPolicy) Check(password string) error {
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune(cognitoSymbols, r):
			symbol = true
		}
	}
	maxLen := p.MaxLength
	if maxLen == 0 {
		maxLen = DefaultPasswordMaxLength
	}
	var rule string
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		rule = "Password not long enough"
	case n > maxLen:
		rule = fmt.Sprintf("Password must be at most %d characters long", maxLen)
	case p.RequireUppercase && !upper:
		rule = "Password must have uppercase characters"
	case p.RequireLowercase && !lower:
		rule = "Password must have lowercase characters"
	case p.RequireNumbers && !digit:
		rule = "Password must have numeric characters"
	case p.RequireSymbols && !symbol:
		rule = "Password must have symbol characters"
	default:
		return nil
	}
	return newError(ErrInvalidPassword, "Password does not conform to policy: "+rule)
}

func (p *PasswordPolicy) validate() []error {
	var errs []error
	if p.MinLength < 6 || p.MinLength > 99 {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.MinLength is %d: use 6 to 99 (Cognito's range; default 8)", p.MinLength))
	}
	if p.MaxLength != 0 && (p.MaxLength < p.MinLength || p.MaxLength > DefaultPasswordMaxLength) {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.MaxLength is %d: use MinLength to 256, or 0 for 256", p.MaxLength))
	}
	if p.HistorySize < 0 || p.HistorySize > 24 {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.HistorySize is %d: use 0 (off) to 24", p.HistorySize))
	}
	return errs
}

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
