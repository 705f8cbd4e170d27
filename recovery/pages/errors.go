package pages

import (
	"errors"
	"fmt"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
)

// problem is an error as a page shows it: the localized message and the
// field it belongs to ("username", "code", "password"; "" for the form).
type problem struct {
	Message, Field string
}

// Form field names, which are also the ids of the inputs.
const (
	fieldUsername = "username"
	fieldCode     = "code"
	fieldPassword = "password"
)

// fields maps the engine's member names to the form's.
var fields = map[string]string{"username": fieldUsername, "confirmationCode": fieldCode, "password": fieldPassword}

// explain maps an engine error to a problem in t's language. submitted
// holds the form's values, to tell an empty field from a malformed one.
// Only the error's name (and, for a password, the broken rule) is read:
// the engine's English message is never shown.
func explain(err error, t *text, p recovery.PasswordPolicy, submitted map[string]string) problem {
	var re *recovery.Error
	if !errors.As(err, &re) {
		return problem{Message: t.ErrInternal}
	}
	switch re.Name {
	case recovery.CodeMismatchException:
		return problem{t.ErrCodeMismatch, fieldCode}
	case recovery.ExpiredCodeException:
		return problem{t.ErrExpiredCode, fieldCode}
	case recovery.InvalidPasswordException:
		return problem{passwordRule(re.Message, t, p), fieldPassword}
	case recovery.PasswordHistoryPolicyViolationException:
		return problem{t.ErrPwHistory, fieldPassword}
	case recovery.UserNotFoundException:
		return problem{t.ErrUserNotFound, fieldUsername}
	case recovery.NotAuthorizedException, recovery.UserNotConfirmedException:
		return problem{Message: t.ErrNotAuthorized}
	case recovery.InvalidParameterException:
		return invalid(err, t, submitted)
	case recovery.CodeDeliveryFailureException:
		return problem{Message: t.ErrDelivery}
	case recovery.OperationNotEnabledException:
		return problem{Message: t.ErrDisabled}
	case recovery.ForbiddenException, recovery.UserLambdaValidationException:
		return problem{Message: t.ErrRefused}
	}
	if re.Name.RateLimited() {
		return problem{Message: t.ErrLimit}
	}
	return problem{Message: t.ErrInternal}
}

// invalid explains an InvalidParameterException: a field that broke a
// constraint, or (for a client that reveals existence) a user without a
// verified channel.
func invalid(err error, t *text, submitted map[string]string) problem {
	vs := recovery.Violations(err)
	if len(vs) == 0 {
		return problem{Message: t.ErrNoChannel}
	}
	f := fields[vs[0].Member]
	if f != "" && submitted[f] == "" {
		return problem{t.ErrRequired, f}
	}
	return problem{t.ErrInvalid, f}
}

// passwordRule maps the engine's InvalidPasswordException message, which
// names the first broken rule in Cognito's wording (see
// recovery.PasswordPolicy.Check), to that rule in t's language; a rule it
// does not know gets the generic message, with the rules listed beside it.
func passwordRule(message string, t *text, p recovery.PasswordPolicy) string {
	rule, _ := strings.CutPrefix(message, "Password does not conform to policy: ")
	switch {
	case rule == "Password not long enough":
		return fmt.Sprintf(t.ErrPwShort, p.MinLength)
	case strings.HasPrefix(rule, "Password must be at most") && strings.HasSuffix(rule, "characters long"):
		return fmt.Sprintf(t.ErrPwLong, p.MaxLength)
	case rule == "Password must have uppercase characters":
		return t.ErrPwUpper
	case rule == "Password must have lowercase characters":
		return t.ErrPwLower
	case rule == "Password must have numeric characters":
		return t.ErrPwDigit
	case rule == "Password must have symbol characters":
		return t.ErrPwSymbol
	case rule == "Password is too common or has appeared in a data breach":
		return t.ErrPwCommon
	}
	return t.ErrPasswordRules
}

// rules lists the policy's rules in t's language, in the order Check
// tests them.
func rules(p recovery.PasswordPolicy, t *text) []string {
	out := []string{fmt.Sprintf(t.RuleMin, p.MinLength)}
	if p.MaxLength > 0 && p.MaxLength < recovery.DefaultPasswordMaxLength {
		out = append(out, fmt.Sprintf(t.RuleMax, p.MaxLength))
	}
	for _, r := range []struct {
		optional bool
		text     string
	}{{p.OptionalUppercase, t.RuleUpper}, {p.OptionalLowercase, t.RuleLower}, {p.OptionalNumbers, t.RuleDigit}, {p.OptionalSymbols, t.RuleSymbol}} {
		if !r.optional {
			out = append(out, r.text)
		}
	}
	if !p.AllowCommonPasswords {
		out = append(out, t.RuleCommon)
	}
	if p.HistorySize > 0 {
		out = append(out, fmt.Sprintf(t.RuleHistory, p.HistorySize))
	}
	return out
}
