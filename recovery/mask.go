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

// looksLikeEmail and looksLikePhone classify an identifier for a simulated
// answer, as spec 7.4 asks: email-like -> EMAIL, "+digits" -> SMS.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != ""
}

func looksLikePhone(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// simulatedDetails is the masked answer for an identifier that cannot get a
// code, with existence errors prevented. An email-like or phone-like
// identifier is masked as itself (what a real user with that alias would
// see); any other identifier gets a destination derived from the pseudonym
// key and the folded identifier, so the answer is the same on every call.
func simulatedDetails(key *macPool, pool, folded, identifier string, first RecoveryMechanism) CodeDeliveryDetails {
	switch {
	case looksLikeEmail(identifier):
		return CodeDeliveryDetails{AttributeName: AttrEmail, DeliveryMedium: Email, Destination: MaskEmail(identifier)}
	case looksLikePhone(identifier):
		return CodeDeliveryDetails{AttributeName: AttrPhoneNumber, DeliveryMedium: SMS, Destination: MaskPhone(identifier)}
	}
	h := key.sum(labelSimulated, pool, folded)
	if first == VerifiedPhoneNumber {
		// 10 to 13 digits, as E.164 numbers of most countries have.
		digits := 10 + int(h[0]%4)
		var last [4]byte
		for i := range last {
			last[i] = '0' + h[1+i]%10
		}
		return CodeDeliveryDetails{AttributeName: AttrPhoneNumber, DeliveryMedium: SMS,
			Destination: "+" + strings.Repeat("*", digits-4) + string(last[:])}
	}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return CodeDeliveryDetails{AttributeName: AttrEmail, DeliveryMedium: Email,
		Destination: string(letters[h[0]%26]) + "***@" + string(letters[h[1]%26]) + "***"}
}
