package recovery

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PasswordPolicy is Cognito's password policy, plus a refusal of common
// passwords. Its zero value is Cognito's default, 8 to 256 characters with
// upper case, lower case, a digit and a symbol, no history, and refuses
// common passwords; each zero field means that field's default.
type PasswordPolicy struct {
	// MinLength is the minimum length in characters, 6 to 99. Default 8.
	MinLength int
	// MaxLength is the maximum length in characters, MinLength to 256.
	// Default 256, Cognito's limit.
	MaxLength int
	// OptionalUppercase, OptionalLowercase, OptionalNumbers and
	// OptionalSymbols each drop one of the character classes a password
	// must otherwise hold (Cognito's RequireUppercase and the like,
	// inverted so that the zero value requires them). Symbols are Cognito's
	// set: ^ $ * . [ ] { } ( ) ? - " ! @ # % & / \ , > < ' : ; | _ ~ ` + =
	OptionalUppercase, OptionalLowercase, OptionalNumbers, OptionalSymbols bool
	// HistorySize refuses the user's last HistorySize passwords
	// (PasswordHistoryPolicyViolationException), 0 (off, the default) to
	// 24. Needs a UserStore that implements PasswordHistory.
	HistorySize int
	// AllowCommonPasswords switches off the built-in list of common
	// passwords, which the zero value applies: the 47,023 passwords most
	// often seen in breaches (zxcvbn's ranking of a 10 million password
	// sample), in any case, in leetspeak ("P@ssw0rd") and with up to 6
	// digits and symbols added around a listed word of at least 4
	// characters ("Welcome1!", "Summer2024!"); and English words and names
	// (zxcvbn's 100,000 Wikipedia words, the US census's names) of at
	// least 5 letters with up to 3 added ("Xylophone1!"). Such a password
	// is refused with "Password does not conform to policy: Password is too
	// common or has appeared in a data breach". Set it only when Screen
	// does this job instead, or for tests that need weak passwords.
	AllowCommonPasswords bool
	// Screen, when set, also refuses passwords it reports as compromised
	// (an online breach service, see PasswordScreen), with the same
	// message as the built-in list. It runs after every other rule has
	// passed, the built-in list included unless AllowCommonPasswords is
	// set: with both, a password must pass both. Default nil: none.
	Screen PasswordScreen
}

// Password policy defaults.
const (
	DefaultPasswordMinLength = 8
	DefaultPasswordMaxLength = 256
)

const cognitoSymbols = "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+="

// withDefaults returns p with its zero lengths set to the defaults.
func (p PasswordPolicy) withDefaults() PasswordPolicy {
	if p.MinLength == 0 {
		p.MinLength = DefaultPasswordMinLength
	}
	if p.MaxLength == 0 {
		p.MaxLength = DefaultPasswordMaxLength
	}
	return p
}

// Check returns nil when password satisfies the policy, else an
// InvalidPasswordException naming the first rule it breaks, in Cognito's
// wording ("Password does not conform to policy: Password not long enough").
// It never includes the password. It applies every rule but Screen, which
// needs a context: CheckContext applies that too.
func (p PasswordPolicy) Check(password string) error {
	p = p.withDefaults()
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
	var rule string
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		rule = "Password not long enough"
	case n > p.MaxLength:
		rule = fmt.Sprintf("Password must be at most %d characters long", p.MaxLength)
	case !p.OptionalUppercase && !upper:
		rule = "Password must have uppercase characters"
	case !p.OptionalLowercase && !lower:
		rule = "Password must have lowercase characters"
	case !p.OptionalNumbers && !digit:
		rule = "Password must have numeric characters"
	case !p.OptionalSymbols && !symbol:
		rule = "Password must have symbol characters"
	case !p.AllowCommonPasswords && isCommon(password):
		rule = commonPasswordRule
	default:
		return nil
	}
	return newError(ErrInvalidPassword, "Password does not conform to policy: "+rule)
}

// CheckContext is Check followed, when the password passes it, by Screen.
// A refusal is an InvalidPasswordException; a Screen that fails makes an
// InternalErrorException that wraps its error.
func (p PasswordPolicy) CheckContext(ctx context.Context, password string) error {
	if err := p.Check(password); err != nil {
		return err
	}
	return p.screen(ctx, password)
}

// screen runs Screen, if any.
func (p PasswordPolicy) screen(ctx context.Context, password string) error {
	if p.Screen == nil {
		return nil
	}
	refuse, err := p.Screen.Screen(ctx, password)
	switch {
	case err != nil:
		return internalError(fmt.Errorf("password screen %T: %w", p.Screen, err))
	case refuse:
		return newError(ErrInvalidPassword, "Password does not conform to policy: "+commonPasswordRule)
	}
	return nil
}

// validate reports what is wrong with p (after defaults).
func (p PasswordPolicy) validate() []error {
	var errs []error
	if p.MinLength < 6 || p.MinLength > 99 {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.MinLength is %d: use 6 to 99 (Cognito's range), or 0 for 8", p.MinLength))
	}
	if p.MaxLength < p.MinLength || p.MaxLength > DefaultPasswordMaxLength {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.MaxLength is %d: use MinLength to 256, or 0 for 256", p.MaxLength))
	}
	if p.HistorySize < 0 || p.HistorySize > 24 {
		errs = append(errs, fmt.Errorf("recovery: PasswordPolicy.HistorySize is %d: use 0 (off) to 24", p.HistorySize))
	}
	return errs
}
