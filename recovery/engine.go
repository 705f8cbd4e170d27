package recovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"golang.org/x/sync/singleflight"
)

// Engine runs the recovery operations. It is safe for concurrent use;
// build one per user pool with New, share it, and Close it at shutdown.
type Engine struct {
	pool       string
	users      UserStore
	creator    UserCreator         // nil unless Users implements it
	history    PasswordHistory     // nil unless Users implements it
	atomicSet  CodeConsumingSetter // nil unless Users implements it for Codes
	findIssuer CodeIssuingFinder   // nil unless Users implements it for Codes and the engine may use it
	media      []DeliveryMedium    // the media of mechanisms, in order
	readBack   PasswordHashReader  // nil unless Users implements it
	codes      CodeStore
	sender     Sender
	outbox     Outbox
	limiter    RequestLimiter
	clients    map[string]Client
	keys       []engineKey // keys[0] hashes new codes
	pseudoKey  *macPool
	mechanisms []RecoveryMechanism // effective priority order; empty for admin_only
	sim        Simulation
	adminOnly  bool
	caseSens   bool
	disabled   bool
	policy     Policy
	limits     CodeLimits
	passwords  PasswordPolicy
	hasher     PasswordHasher
	maxPwBytes int           // the hasher's limit, 0 for none
	inspector  CodeInspector // Codes, when it can tell a current code
	hashSlots  chan struct{} // bounds concurrent password hashes
	templates  templates
	linkBase   *url.URL // Config.LinkBaseURL; nil when unset
	notice     notifier
	hooks      Hooks
	tracer     OperationTracer // Hooks.Observer, when it implements it
	log        *slog.Logger
	logs       logThrottle // aggregates repeated Warn and Error lines
	now        func() time.Time
	rand       io.Reader
	migrations singleflight.Group
	resetter   PasswordResetRequirer // nil unless Users implements it
}

// New checks cfg and builds an Engine. Its error lists every problem found,
// each saying what to change.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		pool:      cfg.PoolID,
		users:     cfg.Users,
		codes:     cfg.Codes,
		sender:    cfg.Sender,
		outbox:    cfg.Outbox,
		limiter:   cfg.Limiter,
		clients:   make(map[string]Client, len(cfg.Clients)),
		sim:       cfg.Simulation,
		caseSens:  cfg.CaseSensitive,
		disabled:  cfg.RecoveryDisabled,
		policy:    cfg.Policy,
		limits:    cfg.Policy.limits(),
		passwords: cfg.PasswordPolicy,
		hasher:    cfg.Hasher,
		templates: newTemplates(cfg.Templates, cfg.DefaultLocale),
		notice:    newNotifier(cfg),
		hashSlots: make(chan struct{}, max(cfg.MaxConcurrentHashes, 1)),
		hooks:     cfg.Hooks,
		log:       cfg.Logger,
		logs:      logThrottle{interval: cfg.LogInterval},
		now:       cfg.Now,
		rand:      cfg.Rand,
	}
	for _, c := range cfg.Clients {
		e.clients[c.ID] = c
	}
	for _, k := range cfg.Keys {
		e.keys = append(e.keys, engineKey{id: k.ID, macs: newMacPool(k.Secret)})
	}
	pk := cfg.PseudonymKey
	if pk == nil {
		pk = derivePseudonymKey(cfg.Keys[0])
	}
	e.pseudoKey = newMacPool(pk)
	var err error
	if e.linkBase, err = parseLinkBase(cfg.LinkBaseURL); err != nil {
		return nil, err // validate reported it already
	}
	if cfg.AccountRecovery[0] == AdminOnly {
		e.adminOnly = true
	} else if e.mechanisms, err = servedMechanisms(cfg); err != nil {
		return nil, err
	}
	e.detectAbilities(cfg)
	if e.outbox == nil {
		e.outbox = newMemoryOutbox(DefaultOutboxSize)
	}
	if err := e.outbox.Bind(e); err != nil {
		return nil, err
	}
	return e, nil
}

// servedMechanisms is AccountRecovery without the mechanisms whose medium
// the user store or the sender says it cannot serve (MediaReporter).
func servedMechanisms(cfg Config) ([]RecoveryMechanism, error) {
	mechs := slices.Clone(cfg.AccountRecovery)
	for _, part := range []struct {
		what string
		v    any
	}{{"user store", cfg.Users}, {"sender", cfg.Sender}} {
		r, ok := part.v.(MediaReporter)
		if !ok {
			continue
		}
		media := r.Media()
		mechs = slices.DeleteFunc(mechs, func(m RecoveryMechanism) bool { return !slices.Contains(media, mechanismMedium(m)) })
		if len(mechs) == 0 {
			return nil, fmt.Errorf("recovery: Config.AccountRecovery is %v, but the %s (%T) serves only %v: include a mechanism for it", cfg.AccountRecovery, part.what, part.v, media)
		}
	}
	return mechs, nil
}

// detectAbilities notes, once, the optional abilities of the stores, the
// hasher and the observer.
func (e *Engine) detectAbilities(cfg Config) {
	e.creator, _ = cfg.Users.(UserCreator)
	e.history, _ = cfg.Users.(PasswordHistory)
	e.readBack, _ = cfg.Users.(PasswordHashReader)
	e.resetter, _ = cfg.Users.(PasswordResetRequirer)
	e.inspector, _ = cfg.Codes.(CodeInspector)
	if s, ok := cfg.Users.(CodeConsumingSetter); ok && s.ConsumesCodesOf(cfg.Codes) {
		e.atomicSet = s
	}
	if f, ok := cfg.Users.(CodeIssuingFinder); ok && f.IssuesCodesOf(cfg.Codes) &&
		cfg.Hooks.UserMigration == nil && !cfg.CaseSensitive && len(e.mechanisms) > 0 {
		e.findIssuer = f
	}
	for _, m := range e.mechanisms {
		e.media = append(e.media, mechanismMedium(m))
	}
	if l, ok := e.hasher.(PasswordLengthLimiter); ok {
		e.maxPwBytes = l.MaxPasswordBytes()
	}
	e.tracer, _ = cfg.Hooks.Observer.(OperationTracer)
}

// Close drains the outbox: it stops accepting deliveries and waits until
// the ones accepted are sent, or until ctx ends, when those left are
// abandoned (reported to the Observer and the log). Call it at shutdown,
// after the server stopped taking requests. An Outbox without a Close
// method is left alone.
func (e *Engine) Close(ctx context.Context) error {
	if c, ok := e.outbox.(interface{ Close(context.Context) error }); ok {
		return c.Close(ctx)
	}
	return nil
}

// Policy returns the policy in force, defaults filled in.
func (e *Engine) Policy() Policy { return e.policy }

// PasswordPolicy returns the password policy in force, defaults filled
// in, for pages that show the rules before a password is chosen.
func (e *Engine) PasswordPolicy() PasswordPolicy { return e.passwords }

// call is the state of one request, for logs and observer events.
type call struct {
	op        Operation
	clientID  string // a configured client's ID, else ""
	analytics *AnalyticsMetadata
	start     time.Time // wall clock, for events and durations
	now       time.Time // millisecond precision, UTC: what stores see
	sub       string
	medium    DeliveryMedium
	simulated error                // why the answer was simulated; nil when it was not
	end       func(outcome string) // from the OperationTracer, if any
}

// begin fills in c, which callers keep on their stack: a request costs one
// allocation less.
func (e *Engine) begin(ctx context.Context, c *call, op Operation, clientID string, a *AnalyticsMetadata) context.Context {
	start := e.now()
	if _, ok := e.clients[clientID]; !ok {
		// Logs, events and traces name configured clients only, so that a
		// caller cannot fill them with made-up IDs.
		clientID = ""
	}
	*c = call{op: op, clientID: clientID, analytics: a, start: start, now: time.UnixMilli(start.UnixMilli()).UTC()}
	if e.tracer != nil {
		ctx, c.end = e.tracer.TraceOperation(ctx, op, clientID)
	}
	return ctx
}

// Recover is Cognito's ForgotPassword: it sends the user a code through the
// first usable channel and returns where it went, masked.
//
// For a client that hides user existence (the default), an unknown user, a
// disabled one, or one without a verified channel gets a simulated answer
// that cannot be told from a real one (see the package documentation), and
// the message is composed and sent off the request path, through the
// Outbox.
func (e *Engine) Recover(ctx context.Context, req RecoverRequest) (CodeDeliveryDetails, error) {
	var c call
	ctx = e.begin(ctx, &c, OpForgotPassword, req.ClientID, req.AnalyticsMetadata)
	d, err := e.recover(ctx, &c, &req)
	err = e.finish(ctx, &c, err)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	return d, nil
}

// Confirm is Cognito's ConfirmForgotPassword: it checks the code and sets the
// new password. On success the code is used up and no other code of the user
// stays valid; a RESET_REQUIRED user becomes CONFIRMED. Everything that can
// refuse the new password is checked before the code is used up, and a
// failure after the code matched leaves it usable for a retry.
func (e *Engine) Confirm(ctx context.Context, req ConfirmRequest) error {
	var c call
	ctx = e.begin(ctx, &c, OpConfirmForgotPassword, req.ClientID, req.AnalyticsMetadata)
	return e.finish(ctx, &c, e.confirm(ctx, &c, &req))
}
