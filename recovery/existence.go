package recovery

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// This file holds every rule that keeps an answer from telling whether an
// account exists, for clients that hide user existence (the default): the
// pseudonyms under which identifiers that match nobody are charged, and the
// simulated destinations they are shown. The package documentation states
// the rules; this is their one home.

// Simulation shapes the answers that send nothing, for clients that hide
// user existence. Every zero value means the default.
type Simulation struct {
	// ChannelFromIdentifier sends the code to the channel the identifier
	// names: an email address gets it by EMAIL and a phone number by SMS,
	// whenever that attribute is the user's verified one, usable under
	// AccountRecovery and not the user's MFA factor, even if AccountRecovery
	// would put the other channel first. A simulated answer then always
	// names that channel too, which removes the statistical signal that
	// remains otherwise (see the package documentation). Default false:
	// Cognito's priority order.
	ChannelFromIdentifier bool
	// ChannelWeights are the relative shares of AccountRecovery's first and
	// second mechanism among simulated answers where either is possible
	// (two mechanisms, and an identifier that does not decide the channel).
	// Set them to the shares of your users who get a code by each, so that
	// simulated answers are spread as real ones are. Default {1, 1}.
	ChannelWeights [2]int
	// PhoneDigits are the lengths, in digits without the "+", of the phone
	// numbers simulated answers mask; each simulated identifier gets one of
	// them. Set them to the lengths your users' numbers have (repeat a
	// length to weight it). Default {11}, the length of North American and
	// many European numbers.
	PhoneDigits []int
}

// DefaultPhoneDigits is the length of simulated phone numbers when
// Simulation.PhoneDigits is empty.
const DefaultPhoneDigits = 11

func (s Simulation) withDefaults() Simulation {
	if s.ChannelWeights == [2]int{} {
		s.ChannelWeights = [2]int{1, 1}
	}
	if len(s.PhoneDigits) == 0 {
		s.PhoneDigits = []int{DefaultPhoneDigits}
	}
	return s
}

func (s Simulation) validate() []error {
	var errs []error
	if w := s.ChannelWeights; w[0] < 0 || w[1] < 0 {
		errs = append(errs, fmt.Errorf("recovery: Simulation.ChannelWeights is %v: use non-negative weights, or {0, 0} for {1, 1}", w))
	}
	for i, n := range s.PhoneDigits {
		if n < 5 || n > 15 {
			errs = append(errs, fmt.Errorf("recovery: Simulation.PhoneDigits[%d] is %d: E.164 numbers have 5 to 15 digits", i, n))
		}
	}
	return errs
}

// shape is what an identifier looks like, which decides the channel a real
// user found by it may get.
type shape int

const (
	shapeOther shape = iota // a username, preferred_username or sub
	shapeEmail
	shapePhone
)

// shapeOf classifies a folded identifier: "local@domain" is an email
// address, "+" and digits a phone number.
func shapeOf(folded string) shape {
	if local, domain, ok := strings.Cut(folded, "@"); ok && local != "" && domain != "" {
		return shapeEmail
	}
	if len(folded) >= 2 && folded[0] == '+' && strings.Trim(folded[1:], "0123456789") == "" {
		return shapePhone
	}
	return shapeOther
}

// medium is the delivery medium an identifier of this shape names, or "".
func (s shape) medium() DeliveryMedium {
	switch s {
	case shapeEmail:
		return Email
	case shapePhone:
		return SMS
	}
	return ""
}

func mechanismMedium(m RecoveryMechanism) DeliveryMedium {
	if m == VerifiedPhoneNumber {
		return SMS
	}
	return Email
}

// maskDestination masks where a code goes. It masks the folded value, so
// the answer never shows the case or width the value was stored in: a user
// found as "ALICE@EXAMPLE.COM" and a missing "ALICE@EXAMPLE.COM" both read
// a***@e***.
func maskDestination(medium DeliveryMedium, to string) string {
	if medium == SMS {
		return MaskPhone(FoldIdentifier(to))
	}
	return MaskEmail(FoldIdentifier(to))
}

// pseudonym is the code-store key for an identifier that matches no user:
// a keyed hash of the folded identifier, so every case and width variant is
// charged to one budget and nothing readable is stored.
func pseudonym(key *macPool, pool, folded string) string {
	return "x:" + base64.RawURLEncoding.EncodeToString(key.sum(labelPseudonym, pool, folded))
}

// simulatedDetails is the answer for an identifier that gets no code. It
// is a pure function of the pseudonym key, the pool and the folded
// identifier, so it is the same on every call, every instance and every
// case variant, and it follows the rule a real user found by that
// identifier follows:
//
//   - The medium is one a real user found by an identifier of that shape
//     could get. An identifier that names a medium (an email address, a
//     phone number) that AccountRecovery puts first, or that
//     ChannelFromIdentifier prefers, gets that medium; one that names the
//     second mechanism gets either (weighted by ChannelWeights), as a real
//     user may or may not have the first; one whose medium the pool does
//     not use gets the pool's only mechanism; any other identifier gets the
//     first or second mechanism by ChannelWeights.
//   - The destination is the identifier itself, masked, when the medium is
//     the one it names (a real user found by that alias gets exactly
//     that); otherwise an invented one of the same pattern: a***@b*** with
//     lower-case letters, or "+", stars and four digits, with a length
//     from Simulation.PhoneDigits.
func (e *Engine) simulatedDetails(folded string) CodeDeliveryDetails {
	h := e.pseudoKey.sum(labelSimulated, e.pool, folded)
	named := shapeOf(folded).medium()
	first := mechanismMedium(e.mechanisms[0])
	var medium DeliveryMedium
	switch {
	case named != "" && e.sim.ChannelFromIdentifier && e.uses(named):
		medium = named
	case named == first:
		medium = first
	case len(e.mechanisms) == 2:
		// The identifier names the second mechanism, or no medium at all.
		medium = mechanismMedium(e.mechanisms[e.pickMechanism(h[0])])
	default:
		medium = first
	}
	if medium == named {
		return details(medium, folded)
	}
	if medium == SMS {
		digits := e.sim.PhoneDigits[int(h[1])%len(e.sim.PhoneDigits)]
		var last [4]byte
		for i := range last {
			last[i] = '0' + h[2+i]%10
		}
		return CodeDeliveryDetails{AttributeName: AttrPhoneNumber, DeliveryMedium: SMS,
			Destination: "+" + strings.Repeat("*", digits-4) + string(last[:])}
	}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return CodeDeliveryDetails{AttributeName: AttrEmail, DeliveryMedium: Email,
		Destination: string(letters[h[6]%26]) + "***@" + string(letters[h[7]%26]) + "***"}
}

// pickMechanism returns 0 or 1, the index of the mechanism a simulated
// answer uses, from one byte of the identifier's keyed hash, weighted by
// ChannelWeights.
func (e *Engine) pickMechanism(b byte) int {
	w := e.sim.ChannelWeights
	if int(b)*(w[0]+w[1]) < 256*w[0] {
		return 0
	}
	return 1
}

// uses reports whether AccountRecovery has a mechanism for medium.
func (e *Engine) uses(medium DeliveryMedium) bool {
	for _, m := range e.mechanisms {
		if mechanismMedium(m) == medium {
			return true
		}
	}
	return false
}

// details is the answer for a code sent by medium to, masked.
func details(medium DeliveryMedium, to string) CodeDeliveryDetails {
	attr := AttrEmail
	if medium == SMS {
		attr = AttrPhoneNumber
	}
	return CodeDeliveryDetails{AttributeName: attr, DeliveryMedium: medium, Destination: maskDestination(medium, to)}
}
