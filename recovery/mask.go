package recovery

import (
	"strings"
	"unicode/utf8"
)

// MaskEmail masks an address as Cognito does: the first character of the
// local part and of the domain, each followed by "***" (test@test.com ->
// t***@t***).
func MaskEmail(addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return firstRune(local) + "***@" + firstRune(domain) + "***"
}

// MaskPhone masks an E.164 number as Cognito does: "+", one "*" per hidden
// digit, then the last four digits (+15555550100 -> +*******0100).
func MaskPhone(number string) string {
	digits := strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, number)
	if len(digits) <= 4 {
		return "+" + strings.Repeat("*", len(digits))
	}
	return "+" + strings.Repeat("*", len(digits)-4) + digits[len(digits)-4:]
}

func firstRune(s string) string {
	_, n := utf8.DecodeRuneInString(s)
	return s[:n]
}
