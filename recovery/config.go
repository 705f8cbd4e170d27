package recovery

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Config builds an Engine. Users, Codes, Sender, Clients and Keys are
// required; every other zero value means the documented default.
type Config struct {
	// PoolID names the user pool; stores keep pools apart by it, so several
	// pools can share one database. Default "default".
	PoolID string

	// Users finds users and stores new passwords. Required.
	Users UserStore
	// Codes keeps codes, budgets and locks. Required.
	Codes CodeStore
	// Sender delivers codes. Required.
	Sender Sender
	// Limiter enforces Policy.ClientRequests and Policy.IPRequests.
	// Optional; required when either rate is set.
	Limiter RequestLimiter
	// Outbox carries codes from the request to Sender for clients that hide
	// user existence, so that the custom-message hook, rendering and
	// delivery never run on the request path. Default: an in-process queue
	// of DefaultOutboxSize deliveries and DefaultOutboxWorkers workers, lost
	// if the process dies; Engine.Close drains it. delivery/asyncsender adds
	// retries and counters; NewInlineOutbox delivers during the request, for
	// tests only (it reveals existence by timing).
	Outbox Outbox

	// Clients are the app clients allowed to call. At least one.
	Clients []Client

	// Keys hash codes: the first key hashes new codes, every key is tried
	// when checking one, so a key can be rotated in by putting a new key
	// first and retired by removing it once CodeLifetime has passed. Each
	// secret must be at least 32 random bytes. At least one.
	Keys []Key
	// PseudonymKey keys the pseudonyms of identifiers that match nobody and
	// the simulated destinations shown for them. Default: derived from the
	// first of Keys. Set it (32+ random bytes) before you rotate Keys, so
	// that simulated answers stay stable across the rotation.
	PseudonymKey []byte

	// Simulation shapes the answers that send nothing (identifiers that
	// match nobody, users who cannot get a code) for clients that hide user
	// existence, so they cannot be told from real ones. See Simulation.
	Simulation Simulation

	// AccountRecovery is the pool's AccountRecoverySetting: one or two of
	// VerifiedEmail and VerifiedPhoneNumber in priority order, or AdminOnly
	// alone. Default (nil): Cognito's legacy rule, verified phone number
	// first, else verified email.
	AccountRecovery []RecoveryMechanism
	// CaseSensitive makes usernames and aliases case-sensitive. Default
	// false: identifiers match after Unicode case folding (FoldIdentifier).
	CaseSensitive bool
	// RecoveryDisabled switches both operations off for the pool
	// (OperationNotEnabledException).
	RecoveryDisabled bool

	// Policy sets codes, budgets, locks and request rates.
	Policy Policy
	// PasswordPolicy checks new passwords. Default (nil): Cognito's, as
	// DefaultPasswordPolicy returns.
	PasswordPolicy *PasswordPolicy
	// Hasher hashes new passwords. Default: Argon2id with OWASP's parameters.
	Hasher PasswordHasher

	// Templates are the message texts per locale ("en", "de", "pt-BR").
	// Missing locales and empty fields fall back to DefaultLocale's template,
	// then to the built-in English one (DefaultTemplate).
	Templates map[string]Template
	// DefaultLocale is used when neither ClientMetadata["locale"] nor the
	// user's locale attribute names a configured locale. Default "en".
	DefaultLocale string

	// Hooks are the optional triggers.
	Hooks Hooks

	// Logger receives structured logs; never codes, passwords, secrets or
	// hashes. Default slog.Default(). Routine outcomes are logged at Debug,
	// hook and delivery failures at Warn, store failures at Error.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the randomness for codes and salts. Default crypto/rand.
	// Only tests should set it.
	Rand io.Reader
}

// Client is an app client (Cognito's user pool client).
type Client struct {
	// ID is the ClientId callers send: 1-128 characters of [\w+].
	ID string
	// Secret, when set, makes SecretHash required.
	Secret string
	// RevealUserExistence is Cognito's LEGACY setting, an explicit opt-in:
	// a request for an unknown user, a disabled one or one without a
	// verified channel answers with that error (UserNotFoundException,
	// NotAuthorizedException, InvalidParameterException), and the code is
	// delivered during the request, so a delivery failure is the caller's
	// CodeDeliveryFailureException.
	//
	// The zero value hides user existence (Cognito's ENABLED setting,
	// called PreventUserExistenceErrors there): every such request answers
	// like a real one, with a simulated destination, after the same store
	// work, and delivery happens off the request path (Config.Outbox). The
	// package documentation lists what the answers share.
	RevealUserExistence bool
	// TrustUserContextIP makes UserContextData.IpAddress count for
	// Policy.IPRequests. Set it only for a client that runs on your own
	// servers and reports its end users' addresses; it needs a Secret, so
	// nobody else can claim to be that client. For every other client the
	// per-IP limit keys on the request's SourceIP, the address the
	// transport saw, and IpAddress only reaches the RiskCheck hook.
	TrustUserContextIP bool
}

// Key is a server key for hashing codes.
type Key struct {
	// ID is stored with each hash: 1-32 characters of [A-Za-z0-9_.-].
	ID string
	// Secret is the HMAC key, at least 32 random bytes.
	Secret []byte
}

// RecoveryMechanism is an entry of the AccountRecoverySetting.
type RecoveryMechanism string

// Recovery mechanisms (Cognito's names).
const (
	VerifiedEmail       RecoveryMechanism = "verified_email"
	VerifiedPhoneNumber RecoveryMechanism = "verified_phone_number"
	AdminOnly           RecoveryMechanism = "admin_only"
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

// validate reports every problem of c (after defaults), each saying what to
// change.
func (c *Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("recovery: "+format, args...)) }

	if c.Users == nil {
		add("Config.Users is nil: set a UserStore (memstore.NewUserStore() in tests, pgxstore for Postgres, or your own)")
	}
	if c.Codes == nil {
		add("Config.Codes is nil: set a CodeStore (memstore.NewCodeStore(), pgxstore or redisstore)")
	}
	if c.Sender == nil {
		add("Config.Sender is nil: set a Sender (capturesender.New() in tests, smtpsender or webhooksender)")
	}
	if len(c.Clients) == 0 {
		add("Config.Clients is empty: add at least one Client{ID: ...}")
	}
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		switch {
		case !validClientID(cl.ID):
			add("Config.Clients[%d].ID %q is invalid: use 1-128 characters of letters, digits, '_' and '+'", i, cl.ID)
		case seen[cl.ID]:
			add("Config.Clients[%d].ID %q is used twice: give each client its own ID", i, cl.ID)
		}
		seen[cl.ID] = true
		if cl.TrustUserContextIP && cl.Secret == "" {
			add("Config.Clients[%d] (ID %q) sets TrustUserContextIP without a Secret: anybody could send addresses in its name; give it a Secret or drop TrustUserContextIP", i, cl.ID)
		}
	}
	if len(c.Keys) == 0 {
		add("Config.Keys is empty: add a Key{ID: \"k1\", Secret: <32+ random bytes>}")
	}
	seenKey := map[string]bool{}
	for i, k := range c.Keys {
		switch {
		case !validKeyID(k.ID):
			add("Config.Keys[%d].ID %q is invalid: use 1-32 characters of letters, digits, '_', '.' and '-'", i, k.ID)
		case seenKey[k.ID]:
			add("Config.Keys[%d].ID %q is used twice: key IDs must be unique", i, k.ID)
		}
		seenKey[k.ID] = true
		if len(k.Secret) < 32 {
			add("Config.Keys[%d] (ID %q) has a %d-byte secret: use at least 32 random bytes", i, k.ID, len(k.Secret))
		}
	}
	if c.PseudonymKey != nil && len(c.PseudonymKey) < 32 {
		add("Config.PseudonymKey has %d bytes: use at least 32 random bytes, or leave it nil", len(c.PseudonymKey))
	}

	if err := validateMechanisms(c.AccountRecovery); err != nil {
		errs = append(errs, err)
	}

	p := c.Policy
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
	} else if p.CodeDigits >= 4 && p.CodeDigits <= 10 && p.FailureBudget >= 1 && p.BudgetWindow >= time.Millisecond {
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
	rates := !p.ClientRequests.IsZero() || !p.IPRequests.IsZero()
	if rates && c.Limiter == nil {
		add("Policy.ClientRequests or IPRequests is set but Config.Limiter is nil: set a RequestLimiter (memstore.NewLimiter(), pgxstore, redisstore)")
	}
	if !rates && c.Limiter != nil {
		add("Config.Limiter is set but Policy.ClientRequests and IPRequests are zero: set a Rate, or drop the Limiter")
	}

	if c.PasswordPolicy != nil {
		errs = append(errs, c.PasswordPolicy.validate()...)
		if c.PasswordPolicy.HistorySize > 0 {
			if _, ok := c.Users.(PasswordHistory); !ok && c.Users != nil {
				add("PasswordPolicy.HistorySize is %d but Config.Users (%T) does not implement PasswordHistory: use a store that keeps history, or set HistorySize to 0", c.PasswordPolicy.HistorySize, c.Users)
			}
		}
	}
	if c.Hooks.UserMigration != nil && c.Users != nil {
		if _, ok := c.Users.(UserCreator); !ok {
			add("Hooks.UserMigration is set but Config.Users (%T) does not implement UserCreator: the engine could not create migrated users", c.Users)
		}
	}
	if c.Hooks.Timeout < 0 {
		add("Hooks.Timeout is %s: use a positive duration, or zero for 5s", c.Hooks.Timeout)
	}
	errs = append(errs, c.Simulation.validate()...)
	for locale, t := range c.Templates {
		if err := t.validate(); err != nil {
			add("Templates[%q]: %v", locale, err)
		}
	}
	return errors.Join(errs...)
}

func validateMechanisms(ms []RecoveryMechanism) error {
	if ms == nil {
		return nil
	}
	const fix = "use one or two of VerifiedEmail and VerifiedPhoneNumber in priority order, or AdminOnly alone (nil for Cognito's legacy rule)"
	if len(ms) == 0 || len(ms) > 2 {
		return fmt.Errorf("recovery: Config.AccountRecovery has %d entries: %s", len(ms), fix)
	}
	for i, m := range ms {
		switch m {
		case VerifiedEmail, VerifiedPhoneNumber:
		case AdminOnly:
			if len(ms) != 1 {
				return fmt.Errorf("recovery: Config.AccountRecovery combines admin_only with another mechanism: %s", fix)
			}
		default:
			return fmt.Errorf("recovery: Config.AccountRecovery[%d] is %q: %s", i, m, fix)
		}
		if i == 1 && ms[0] == m {
			return fmt.Errorf("recovery: Config.AccountRecovery lists %q twice: %s", m, fix)
		}
	}
	return nil
}

func validClientID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !isWordRune(r) && r != '+' {
			return false
		}
	}
	return true
}

func validKeyID(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !isWordRune(r) && r != '.' && r != '-'
	}) < 0
}

// isWordRune is Java's \w: [a-zA-Z_0-9].
func isWordRune(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}
