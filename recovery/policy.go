package recovery

import (
	"fmt"
	"math"
	"time"
)

// Policy sets the security parameters. Zero fields take the defaults.
type Policy struct {
	// CodeDigits is the code length, 4 to 10. Default 6.
	CodeDigits int
	// CodeLifetime is how long a code is valid. Default 1 h.
	CodeLifetime time.Duration
	// Budget is how many codes a user may request in any rolling
	// BudgetWindow; the next request is LimitExceededException. Default 5.
	Budget int
	// FailureBudget is how many failed confirmations (wrong codes) a user
	// may have in any rolling BudgetWindow; the next confirmation, right or
	// wrong, is LimitExceededException without the code being compared,
	// and so is a request for a new code (a code is only sent when it can
	// be checked). It bounds guessing: see GuessProbability. Default 5.
	FailureBudget int
	// BudgetWindow is the rolling window of Budget and FailureBudget.
	// Default 1 h.
	BudgetWindow time.Duration
	// MaxFailures is the consecutive failed confirmations after which
	// recovery is locked for Cooldown (TooManyFailedAttemptsException). A
	// successful confirmation resets the count. Default 100 (NIST SP
	// 800-63B's maximum).
	MaxFailures int
	// Cooldown is how long the lock lasts. Default 24 h.
	Cooldown time.Duration
	// MaxGuessProbability is the ceiling for GuessProbability: New rejects
	// a policy that gives an attacker a better chance per account per day.
	// Default 0.001.
	MaxGuessProbability float64
	// ClientRequests limits requests per app client (both operations
	// together). Zero: no limit. Needs Config.Limiter.
	ClientRequests Rate
	// IPRequests limits requests per source address: the request's
	// SourceIP (IPv6 addresses count per /64 network), or
	// UserContextData.IpAddress for a client with TrustUserContextIP.
	// Requests without a usable address share one counter. Zero: no limit.
	// Needs Config.Limiter.
	IPRequests Rate
}

// Policy defaults.
const (
	DefaultCodeDigits          = 6
	DefaultCodeLifetime        = time.Hour
	DefaultBudget              = 5
	DefaultFailureBudget       = 5
	DefaultBudgetWindow        = time.Hour
	DefaultMaxFailures         = 100
	DefaultCooldown            = 24 * time.Hour
	DefaultMaxGuessProbability = 0.001
	DefaultHookTimeout         = 5 * time.Second
	DefaultPoolID              = "default"
	DefaultLocale              = "en"
)

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.CodeDigits == 0 {
		p.CodeDigits = DefaultCodeDigits
	}
	if p.CodeLifetime == 0 {
		p.CodeLifetime = DefaultCodeLifetime
	}
	if p.Budget == 0 {
		p.Budget = DefaultBudget
	}
	if p.FailureBudget == 0 {
		p.FailureBudget = DefaultFailureBudget
	}
	if p.BudgetWindow == 0 {
		p.BudgetWindow = DefaultBudgetWindow
	}
	if p.MaxFailures == 0 {
		p.MaxFailures = DefaultMaxFailures
	}
	if p.Cooldown == 0 {
		p.Cooldown = DefaultCooldown
	}
	if p.MaxGuessProbability == 0 {
		p.MaxGuessProbability = DefaultMaxGuessProbability
	}
	return p
}

// GuessProbability is the worst-case chance that an attacker guesses a valid
// code for one account within any 24 hours under p (after defaults). Every
// wrong guess is a failed confirmation, and at most FailureBudget of those
// fit in any BudgetWindow (once they are spent, no code is compared, right
// or wrong), so a day holds at most G = FailureBudget * ceil(24h /
// BudgetWindow) evaluated guesses; G guesses cover at most G of the
// 10^CodeDigits equally likely codes, so the chance is G / 10^CodeDigits.
// Requesting new codes does not add guesses: Budget bounds the messages
// sent, not the comparisons. The consecutive-failure cap is not counted: a
// legitimate user's success resets it, so it cannot be relied on. Defaults:
// 5 * 24 / 10^6 = 1.2e-4.
func (p Policy) GuessProbability() float64 {
	p = p.WithDefaults()
	windows := math.Ceil(float64(24*time.Hour) / float64(p.BudgetWindow))
	guesses := float64(p.FailureBudget) * windows
	return math.Min(1, guesses/math.Pow10(p.CodeDigits))
}

func (p Policy) limits() CodeLimits {
	return CodeLimits{Budget: p.Budget, FailureBudget: p.FailureBudget, Window: p.BudgetWindow, MaxFailures: p.MaxFailures, Cooldown: p.Cooldown}
}

// validate reports every problem of p (after defaults), each saying what to
// change.
func (p Policy) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("recovery: "+format, args...)) }
	if p.CodeDigits < 4 || p.CodeDigits > 10 {
		add("Policy.CodeDigits is %d: use 4 to 10 (default 6)", p.CodeDigits)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CodeLifetime", p.CodeLifetime}, {"BudgetWindow", p.BudgetWindow}, {"Cooldown", p.Cooldown}} {
		if d.v < time.Millisecond {
			add("Policy.%s is %s: use a positive duration of at least 1ms", d.name, d.v)
		}
	}
	if p.Budget < 1 {
		add("Policy.Budget is %d: use at least 1 (default 5)", p.Budget)
	}
	if p.FailureBudget < 1 {
		add("Policy.FailureBudget is %d: use at least 1 (default 5)", p.FailureBudget)
	}
	if p.MaxFailures < 1 {
		add("Policy.MaxFailures is %d: use at least 1 (default 100)", p.MaxFailures)
	}
	if p.MaxGuessProbability <= 0 || p.MaxGuessProbability > 1 {
		add("Policy.MaxGuessProbability is %g: use a probability in (0, 1]", p.MaxGuessProbability)
	} else if len(errs) == 0 {
		if g := p.GuessProbability(); g > p.MaxGuessProbability {
			add("the policy lets an attacker guess a code with probability %.3g per account per day, above Policy.MaxGuessProbability %.3g: raise CodeDigits, lower FailureBudget or lengthen BudgetWindow", g, p.MaxGuessProbability)
		}
	}
	for _, r := range []struct {
		name string
		v    Rate
	}{{"ClientRequests", p.ClientRequests}, {"IPRequests", p.IPRequests}} {
		if !r.v.IsZero() && (r.v.Limit < 1 || r.v.Window < time.Millisecond) {
			add("Policy.%s is %d per %s: set Limit >= 1 and Window >= 1ms, or leave it zero for no limit", r.name, r.v.Limit, r.v.Window)
		}
	}
	return errs
}

// rated reports whether p sets a request rate, which needs a limiter.
func (p Policy) rated() bool { return !p.ClientRequests.IsZero() || !p.IPRequests.IsZero() }
