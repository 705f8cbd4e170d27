package recovery

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field constraints from the Cognito API model, with the pattern text AWS
// quotes in its messages.
type field struct {
	name     string // camelCase member name, as AWS names it in messages
	min, max int    // length in characters; min 0 means optional
	pattern  string
	allowed  func(rune) bool // nil: any character
}

var (
	fieldClientID   = field{"clientId", 1, 128, `[\w+]+`, func(r rune) bool { return isWordRune(r) || r == '+' }}
	fieldSecretHash = field{"secretHash", 0, 128, `[\w+=/]+`, func(r rune) bool { return isWordRune(r) || r == '+' || r == '=' || r == '/' }}
	fieldUsername   = field{"username", 1, 128, `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`, isUsernameRune}
	fieldCode       = field{"confirmationCode", 1, 2048, `[\S]+`, isNonSpace}
	fieldPassword   = field{"password", 1, 256, `[\S]+`, isNonSpace}
	fieldIP         = field{"userContextData.ipAddress", 0, 131072, "", nil}
	fieldEncoded    = field{"userContextData.encodedData", 0, 131072, "", nil}
)

var usernameClasses = []*unicode.RangeTable{unicode.L, unicode.M, unicode.S, unicode.N, unicode.P}

func isUsernameRune(r rune) bool { return unicode.IsOneOf(usernameClasses, r) }

// isNonSpace is Java's \S: anything but [ \t\n\x0B\f\r].
func isNonSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return false
	}
	return true
}

// Violation is one broken field constraint of a request.
type Violation struct {
	// Member is the request member, named as AWS names it in messages
	// ("username", "confirmationCode", "password", "clientId",
	// "userContextData.ipAddress", ...).
	Member string
	// Constraint says what the value failed, in AWS's words ("Member must
	// not be null", "Member must have length less than or equal to 128").
	// It never quotes the value.
	Constraint string
}

// Violations returns the broken field constraints behind an
// InvalidParameterException about the request's fields, for a transport
// that names the fields its own way; nil for any other error.
func Violations(err error) []Violation {
	var e *Error
	if errors.As(err, &e) {
		return append([]Violation(nil), e.violations...)
	}
	return nil
}

// check appends v's violations of f to out. Values are never quoted in the
// messages: Cognito marks these members sensitive, and a username or password
// must not travel back in an error.
func (f field) check(v string, out []Violation) []Violation {
	if v == "" {
		if f.min > 0 {
			out = append(out, Violation{f.name, "Member must not be null"})
		}
		return out
	}
	if f.allowed != nil {
		ok := utf8.ValidString(v)
		for _, r := range v {
			if !ok || !f.allowed(r) {
				ok = false
				break
			}
		}
		if !ok {
			out = append(out, Violation{f.name, "Member must satisfy regular expression pattern: " + f.pattern})
		}
	}
	if n := utf8.RuneCountInString(v); n > f.max {
		out = append(out, Violation{f.name, fmt.Sprintf("Member must have length less than or equal to %d", f.max)})
	}
	return out
}

func checkContext(u *UserContextData, out []Violation) []Violation {
	if u == nil {
		return out
	}
	out = fieldIP.check(u.IPAddress, out)
	return fieldEncoded.check(u.EncodedData, out)
}

// validationError formats violations as AWS does: "1 validation error
// detected: Value at 'username' failed to satisfy constraint: ..." or "2
// validation errors detected: ...; ...".
func validationError(violations []Violation) error {
	if len(violations) == 0 {
		return nil
	}
	noun := "error"
	if len(violations) > 1 {
		noun = "errors"
	}
	parts := make([]string, len(violations))
	for i, v := range violations {
		parts[i] = fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Member, v.Constraint)
	}
	e := newError(ErrInvalidParameter, fmt.Sprintf("%d validation %s detected: %s", len(violations), noun, strings.Join(parts, "; ")))
	e.violations = violations
	return e
}

func validateRecover(r *RecoverRequest) error {
	var v []Violation
	v = fieldClientID.check(r.ClientID, v)
	v = fieldSecretHash.check(r.SecretHash, v)
	v = fieldUsername.check(r.Username, v)
	v = checkContext(r.UserContextData, v)
	return validationError(v)
}

func validateConfirm(r *ConfirmRequest) error {
	var v []Violation
	v = fieldClientID.check(r.ClientID, v)
	v = fieldSecretHash.check(r.SecretHash, v)
	v = fieldUsername.check(r.Username, v)
	v = fieldCode.check(r.ConfirmationCode, v)
	v = fieldPassword.check(r.Password, v)
	v = checkContext(r.UserContextData, v)
	return validationError(v)
}
