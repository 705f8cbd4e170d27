package recovery

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
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
	// alone. Default (empty): Cognito's legacy rule, verified phone number
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
	// PasswordPolicy checks new passwords. Its zero value is Cognito's
	// default policy plus a refusal of common passwords, and each zero
	// field means that field's default.
	PasswordPolicy PasswordPolicy
	// Hasher hashes new passwords. Default: Argon2id with OWASP's parameters.
	Hasher PasswordHasher
	// MaxConcurrentHashes bounds how many password hashes (a new password,
	// or a history check) Confirm computes at once; more wait their turn,
	// or give up when their context ends. argon2id takes 19 MiB and tens of
	// milliseconds each, so without a bound a burst of resets is a burst
	// of memory. Default runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int

	// Templates are the message texts per locale ("en", "de", "pt-BR").
	// Missing locales and empty fields fall back to DefaultLocale's template,
	// then to the built-in English one (DefaultTemplate()).
	Templates map[string]Template
	// DefaultLocale is used when neither ClientMetadata["locale"] nor the
	// user's locale attribute names a configured locale. Default "en".
	DefaultLocale string
	// LinkBaseURL lets code messages carry a link (LinkPlaceholder,
	// "{link}"): this URL with code and username added to its query, as
	// https://example.com/reset?code=123456&username=alice. It must be an
	// absolute https URL (http only for localhost and loopback addresses)
	// without a fragment, user name or its own code or username; a query
	// of its own is kept. Default empty: no links, and New refuses
	// templates that use {link}.
	//
	// Mail scanners and link previews open every link in a message, often
	// before the user does. So the page must never consume the code on
	// GET: it shows a form with the username and code filled in and a
	// field for the new password, and only the form's POST calls Confirm.
	// A GET that acted on the code would let a scanner, or anyone who sees
	// the URL in a log, use it up before the user does.
	LinkBaseURL string
	// SkipPasswordChangedNotice stops the notice that Confirm sends after a
	// successful reset, to every verified email address and phone number
	// of the user (MFA factors included), from the PasswordChanged texts of
	// Templates. Default false: the notice is sent, off the request path
	// through the Outbox; its failure never undoes the reset.
	SkipPasswordChangedNotice bool

	// Hooks are the optional triggers.
	Hooks Hooks

	// Logger receives structured logs; never codes, passwords, secrets or
	// hashes. Default slog.Default(). Routine outcomes are logged at Debug,
	// hook and delivery failures at Warn, store failures at Error.
	Logger *slog.Logger
	// LogInterval aggregates repeated Warn and Error lines, so an overload
	// does not write one line per refused request: of each kind of line
	// (its message and error name), the first in every LogInterval is
	// written and the rest are counted; the next line written carries the
	// count as "suppressed". Default DefaultLogInterval; negative writes
	// every line.
	LogInterval time.Duration
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

// withDefaults returns c with every zero field that has a default set to
// it: the one place defaults are filled in, before validation.
func (c Config) withDefaults() Config {
	if c.PoolID == "" {
		c.PoolID = DefaultPoolID
	}
	if len(c.AccountRecovery) == 0 {
		c.AccountRecovery = []RecoveryMechanism{VerifiedPhoneNumber, VerifiedEmail}
	}
	c.Policy = c.Policy.WithDefaults()
	c.PasswordPolicy = c.PasswordPolicy.withDefaults()
	c.Simulation = c.Simulation.withDefaults()
	if c.Hasher == nil {
		c.Hasher = Argon2id{Rand: c.Rand}
	}
	if c.MaxConcurrentHashes == 0 {
		c.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if c.DefaultLocale == "" {
		c.DefaultLocale = DefaultLocale
	}
	if c.Hooks.Timeout == 0 {
		c.Hooks.Timeout = DefaultHookTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LogInterval == 0 {
		c.LogInterval = DefaultLogInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// validate reports every problem of c (after defaults), each saying what to
// change.
func (c *Config) validate() error {
	var errs []error
	errs = append(errs, c.validateDependencies()...)
	errs = append(errs, c.validateClients()...)
	errs = append(errs, c.validateKeys()...)
	if err := validateMechanisms(c.AccountRecovery); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Policy.validate()...)
	errs = append(errs, c.PasswordPolicy.validate()...)
	errs = append(errs, c.Simulation.validate()...)
	if c.MaxConcurrentHashes < 0 {
		errs = append(errs, fmt.Errorf("recovery: MaxConcurrentHashes is %d: use a positive number, or 0 for GOMAXPROCS", c.MaxConcurrentHashes))
	}
	if c.Hooks.Timeout < 0 {
		errs = append(errs, fmt.Errorf("recovery: Hooks.Timeout is %s: use a positive duration, or zero for 5s", c.Hooks.Timeout))
	}
	if _, err := parseLinkBase(c.LinkBaseURL); err != nil {
		errs = append(errs, err)
	}
	for locale, t := range c.Templates {
		if err := t.validate(c.LinkBaseURL != ""); err != nil {
			errs = append(errs, fmt.Errorf("recovery: Templates[%q]: %w", locale, err))
		}
	}
	return errors.Join(errs...)
}

// validateDependencies checks the stores, the sender and the optional
// abilities the configuration needs.
func (c *Config) validateDependencies() []error {
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
	switch {
	case c.Policy.rated() && c.Limiter == nil:
		add("Policy.ClientRequests or IPRequests is set but Config.Limiter is nil: set a RequestLimiter (memstore.NewLimiter(), pgxstore, redisstore)")
	case !c.Policy.rated() && c.Limiter != nil:
		add("Config.Limiter is set but Policy.ClientRequests and IPRequests are zero: set a Rate, or drop the Limiter")
	}
	if _, ok := c.Users.(PasswordHistory); !ok && c.PasswordPolicy.HistorySize > 0 && c.Users != nil {
		add("PasswordPolicy.HistorySize is %d but Config.Users (%T) does not implement PasswordHistory: use a store that keeps history, or set HistorySize to 0", c.PasswordPolicy.HistorySize, c.Users)
	}
	if _, ok := c.Users.(UserCreator); !ok && c.Hooks.UserMigration != nil && c.Users != nil {
		add("Hooks.UserMigration is set but Config.Users (%T) does not implement UserCreator: the engine could not create migrated users", c.Users)
	}
	return errs
}

// validateClients checks the app clients.
func (c *Config) validateClients() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("recovery: "+format, args...)) }
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
	return errs
}

// validateKeys checks the hashing keys.
func (c *Config) validateKeys() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("recovery: "+format, args...)) }
	if len(c.Keys) == 0 {
		add("Config.Keys is empty: add a Key{ID: \"k1\", Secret: <32+ random bytes>}")
	}
	seen := map[string]bool{}
	for i, k := range c.Keys {
		switch {
		case !validKeyID(k.ID):
			add("Config.Keys[%d].ID %q is invalid: use 1-32 characters of letters, digits, '_', '.' and '-'", i, k.ID)
		case seen[k.ID]:
			add("Config.Keys[%d].ID %q is used twice: key IDs must be unique", i, k.ID)
		}
		seen[k.ID] = true
		if len(k.Secret) < 32 {
			add("Config.Keys[%d] (ID %q) has a %d-byte secret: use at least 32 random bytes", i, k.ID, len(k.Secret))
		}
	}
	if c.PseudonymKey != nil && len(c.PseudonymKey) < 32 {
		add("Config.PseudonymKey has %d bytes: use at least 32 random bytes, or leave it nil", len(c.PseudonymKey))
	}
	return errs
}

func validateMechanisms(ms []RecoveryMechanism) error {
	const fix = "use one or two of VerifiedEmail and VerifiedPhoneNumber in priority order, or AdminOnly alone (nil for Cognito's legacy rule)"
	if len(ms) > 2 {
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
