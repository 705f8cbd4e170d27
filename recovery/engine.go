package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"
)

// Engine runs the two recovery operations. It is safe for concurrent use;
// build one per user pool with New and share it.
type Engine struct {
	pool       string
	users      UserStore
	creator    UserCreator     // nil unless Users implements it
	history    PasswordHistory // nil unless Users implements it
	codes      CodeStore
	sender     Sender
	limiter    RequestLimiter
	clients    map[string]Client
	keys       []engineKey // keys[0] hashes new codes
	pseudoKey  *macPool
	mechanisms []RecoveryMechanism // effective priority order
	adminOnly  bool
	caseSens   bool
	disabled   bool
	policy     Policy
	limits     CodeLimits
	passwords  *PasswordPolicy
	hasher     PasswordHasher
	templates  templates
	hooks      Hooks
	tracer     OperationTracer // Hooks.Observer, when it implements it
	log        *slog.Logger
	now        func() time.Time
	rand       io.Reader
	migrations singleflight.Group
}

// New checks cfg and builds an Engine. Its error lists every problem found,
// each saying what to change.
func New(cfg Config) (*Engine, error) {
	cfg.Policy = cfg.Policy.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		pool:      cfg.PoolID,
		users:     cfg.Users,
		codes:     cfg.Codes,
		sender:    cfg.Sender,
		limiter:   cfg.Limiter,
		clients:   make(map[string]Client, len(cfg.Clients)),
		caseSens:  cfg.CaseSensitive,
		disabled:  cfg.RecoveryDisabled,
		policy:    cfg.Policy,
		limits:    cfg.Policy.limits(),
		passwords: cfg.PasswordPolicy,
		hasher:    cfg.Hasher,
		hooks:     cfg.Hooks,
		log:       cfg.Logger,
		now:       cfg.Now,
		rand:      cfg.Rand,
	}
	if e.pool == "" {
		e.pool = DefaultPoolID
	}
	e.creator, _ = cfg.Users.(UserCreator)
	e.history, _ = cfg.Users.(PasswordHistory)
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
	switch {
	case len(cfg.AccountRecovery) == 0:
		e.mechanisms = []RecoveryMechanism{VerifiedPhoneNumber, VerifiedEmail}
	case cfg.AccountRecovery[0] == AdminOnly:
		e.adminOnly = true
	default:
		e.mechanisms = append([]RecoveryMechanism(nil), cfg.AccountRecovery...)
	}
	if e.passwords == nil {
		e.passwords = DefaultPasswordPolicy()
	}
	if e.hasher == nil {
		e.hasher = Argon2id{Rand: cfg.Rand}
	}
	e.tracer, _ = cfg.Hooks.Observer.(OperationTracer)
	if e.hooks.Timeout == 0 {
		e.hooks.Timeout = DefaultHookTimeout
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rand == nil {
		e.rand = rand.Reader
	}
	locale := cfg.DefaultLocale
	if locale == "" {
		locale = DefaultLocale
	}
	e.templates = newTemplates(cfg.Templates, locale)
	return e, nil
}

// Policy returns the policy in force, defaults filled in.
func (e *Engine) Policy() Policy { return e.policy }

// GuessProbability is Policy().GuessProbability(): the worst-case chance of
// guessing a valid code for one account within 24 hours.
func (e *Engine) GuessProbability() float64 { return e.policy.GuessProbability() }

// call is the state of one request, for logs and observer events.
type call struct {
	op        Operation
	clientID  string
	analytics *AnalyticsMetadata
	start     time.Time // wall clock, for events and durations
	now       time.Time // millisecond precision, UTC: what stores see
	sub       string
	medium    DeliveryMedium
	simulated bool
	end       func(outcome string) // from the OperationTracer, if any
}

func (e *Engine) begin(ctx context.Context, op Operation, clientID string, a *AnalyticsMetadata) (context.Context, *call) {
	start := e.now()
	c := &call{op: op, clientID: clientID, analytics: a, start: start, now: time.UnixMilli(start.UnixMilli()).UTC()}
	if e.tracer != nil {
		ctx, c.end = e.tracer.TraceOperation(ctx, op, clientID)
	}
	return ctx, c
}

// Recover is Cognito's ForgotPassword: it sends the user a code through the
// first usable channel and returns where it went, masked.
//
// With the client's PreventUserExistenceErrors set, an unknown user, a
// disabled one, or one without a verified channel gets a simulated answer of
// the same shape, after the same code-store work; nothing is sent.
func (e *Engine) Recover(ctx context.Context, req RecoverRequest) (CodeDeliveryDetails, error) {
	ctx, c := e.begin(ctx, OpForgotPassword, req.ClientID, req.AnalyticsMetadata)
	d, err := e.recover(ctx, c, &req)
	err = e.finish(ctx, c, err)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	return d, nil
}

// Confirm is Cognito's ConfirmForgotPassword: it checks the code and sets the
// new password. On success the code is used up and no other code of the user
// stays valid; a RESET_REQUIRED user becomes CONFIRMED.
func (e *Engine) Confirm(ctx context.Context, req ConfirmRequest) error {
	ctx, c := e.begin(ctx, OpConfirmForgotPassword, req.ClientID, req.AnalyticsMetadata)
	return e.finish(ctx, c, e.confirm(ctx, c, &req))
}

// admit runs the checks both operations share before any user lookup, so
// their answers are the same for every identifier: client, secret hash,
// request rate, pool switches and the risk hook.
func (e *Engine) admit(ctx context.Context, c *call, clientID, secretHash, username string, ucd *UserContextData, meta map[string]string) (Client, error) {
	client, ok := e.clients[clientID]
	if !ok {
		return client, newError(ErrResourceNotFound, fmt.Sprintf("User pool client %s does not exist.", clientID))
	}
	if client.Secret != "" {
		if secretHash == "" {
			return client, newError(ErrNotAuthorized, fmt.Sprintf("Client %s is configured for secret but secret was not received", clientID))
		}
		if !secretHashOK(client.Secret, username, clientID, secretHash) {
			return client, newError(ErrNotAuthorized, fmt.Sprintf("Unable to verify secret hash for client %s", clientID))
		}
	}
	if e.limiter != nil {
		if err := e.throttle(ctx, c, clientID, ucd); err != nil {
			return client, err
		}
	}
	if e.disabled {
		return client, ErrOperationNotEnabled
	}
	if e.adminOnly {
		return client, newError(ErrNotAuthorized, "Contact administrator to reset password.")
	}
	if e.hooks.RiskCheck != nil {
		ev := RiskEvent{
			HookContext:     HookContext{TriggerSource: TriggerRiskCheck, PoolID: e.pool, ClientID: clientID, Username: username, ClientMetadata: meta},
			Operation:       c.op,
			UserContextData: ucd,
		}
		_, err := callHook(ctx, e.hooks.Timeout, TriggerRiskCheck, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, e.hooks.RiskCheck.CheckRisk(ctx, ev)
		})
		if err != nil {
			return client, err
		}
	}
	return client, nil
}

// constantTimeEqual compares secrets; a variable so a test can prove every
// secret comparison goes through it.
var constantTimeEqual = func(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// SecretHash computes the SecretHash a caller sends for a client with a
// secret: Base64(HMAC-SHA256(clientSecret, username+clientID)).
func SecretHash(clientSecret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(username))
	m.Write([]byte(clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// secretHashOK checks a SecretHash, computed over the username exactly as
// sent, in constant time.
func secretHashOK(secret, username, clientID, got string) bool {
	return constantTimeEqual([]byte(got), []byte(SecretHash(secret, username, clientID)))
}

func (e *Engine) throttle(ctx context.Context, c *call, clientID string, ucd *UserContextData) error {
	keys := make([]LimitKey, 0, 2)
	if !e.policy.ClientRequests.IsZero() {
		keys = append(keys, LimitKey{Key: "client:" + clientID, Rate: e.policy.ClientRequests})
	}
	if !e.policy.IPRequests.IsZero() && ucd != nil && ucd.IPAddress != "" {
		keys = append(keys, LimitKey{Key: "ip:" + ucd.IPAddress, Rate: e.policy.IPRequests})
	}
	if len(keys) == 0 {
		return nil
	}
	ok, err := e.limiter.Allow(ctx, LimitRequest{Pool: e.pool, Keys: keys, Now: c.now})
	if err != nil {
		return internalError(fmt.Errorf("request limiter: %w", err))
	}
	if !ok {
		return ErrTooManyRequests
	}
	return nil
}

// lookup finds the user for an identifier. found is false when nobody
// matches (in a case-sensitive pool, also when only the case differs).
func (e *Engine) lookup(ctx context.Context, identifier, folded string) (u User, found bool, err error) {
	u, err = e.users.FindUser(ctx, e.pool, UserQuery{Identifier: identifier, Key: folded})
	switch {
	case errors.Is(err, ErrUserNotFound):
		return User{}, false, nil
	case err != nil:
		return User{}, false, internalError(fmt.Errorf("user store: %w", err))
	case u.Sub == "":
		return User{}, false, internalError(fmt.Errorf("user store: %T.FindUser returned a user without Sub", e.users))
	}
	if e.caseSens && !matchesExactly(u, identifier) {
		return User{}, false, nil
	}
	return u, true, nil
}

// matchesExactly applies a case-sensitive pool's rule: the stores match
// case-insensitively, so the engine re-checks the identifier with case kept.
func matchesExactly(u User, identifier string) bool {
	id := preserveIdentifier(identifier)
	if id == preserveIdentifier(u.Username) || identifier == u.Sub {
		return true
	}
	for _, a := range []string{AttrPreferredUsername, AttrEmail, AttrPhoneNumber} {
		if v := u.Attributes[a]; v != "" && id == preserveIdentifier(v) {
			return true
		}
	}
	return false
}

// stateError is the LEGACY answer for a user whose state forbids a reset, or
// nil. Spec section 6.
func stateError(u User, op Operation) error {
	switch {
	case !u.Enabled:
		return newError(ErrNotAuthorized, "User is disabled.")
	case u.Status == StatusConfirmed || u.Status == StatusResetRequired || u.Status == "":
		return nil
	case u.Status == StatusUnconfirmed && op == OpForgotPassword:
		return errNoChannel
	case u.Status == StatusUnconfirmed:
		return ErrUserNotConfirmed
	}
	return newError(ErrNotAuthorized, "User password cannot be reset in the current state.")
}

var errNoChannel = newError(ErrInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number")

// destination is where a code goes.
type destination struct {
	medium DeliveryMedium
	attr   string
	to     string
}

func (d destination) details() CodeDeliveryDetails {
	masked := MaskEmail(d.to)
	if d.medium == SMS {
		masked = MaskPhone(d.to)
	}
	return CodeDeliveryDetails{AttributeName: d.attr, DeliveryMedium: d.medium, Destination: masked}
}

// chooseChannel applies the AccountRecoverySetting (spec 7.5): the first
// mechanism whose attribute is verified and whose medium is not the user's
// MFA factor (and, for a migrated user, is among only when only is set).
func (e *Engine) chooseChannel(u User, only []DeliveryMedium) (destination, error) {
	allowed := func(m DeliveryMedium) bool {
		if len(only) == 0 {
			return true
		}
		for _, o := range only {
			if o == m {
				return true
			}
		}
		return false
	}
	for _, m := range e.mechanisms {
		switch m {
		case VerifiedEmail:
			if to := u.Attributes[AttrEmail]; to != "" && u.Attributes[AttrEmailVerified] == "true" && !u.EmailMFA && allowed(Email) {
				return destination{Email, AttrEmail, to}, nil
			}
		case VerifiedPhoneNumber:
			if to := u.Attributes[AttrPhoneNumber]; to != "" && u.Attributes[AttrPhoneNumberVerified] == "true" && !u.SMSMFA && allowed(SMS) {
				return destination{SMS, AttrPhoneNumber, to}, nil
			}
		}
	}
	return destination{}, errNoChannel
}

func (e *Engine) recover(ctx context.Context, c *call, req *RecoverRequest) (CodeDeliveryDetails, error) {
	if err := validateRecover(req); err != nil {
		return CodeDeliveryDetails{}, err
	}
	client, err := e.admit(ctx, c, req.ClientID, req.SecretHash, req.Username, req.UserContextData, req.ClientMetadata)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	folded := FoldIdentifier(req.Username)
	user, found, err := e.lookup(ctx, req.Username, folded)
	if err != nil {
		return CodeDeliveryDetails{}, err
	}
	var migrated *MigratedUser
	if !found && e.hooks.UserMigration != nil {
		user, migrated, found, err = e.migrate(ctx, req, folded)
		if err != nil {
			return CodeDeliveryDetails{}, err
		}
	}

	// Decide who is charged and whether a code can go out. Every path from
	// here makes the same single Issue call, so a simulated answer costs the
	// store what a real one does and hits the budget at the same point.
	var (
		key     string
		dest    destination
		refusal error // why no code can be sent; nil when one can
	)
	if found {
		c.sub = user.Sub
		key = UserKey(user.Sub)
		if refusal = stateError(user, OpForgotPassword); refusal == nil {
			var only []DeliveryMedium
			if migrated != nil {
				only = migrated.DesiredDeliveryMediums
			}
			dest, refusal = e.chooseChannel(user, only)
		}
	} else {
		if !client.PreventUserExistenceErrors {
			return CodeDeliveryDetails{}, ErrUserNotFound
		}
		key = pseudonym(e.pseudoKey, e.pool, folded)
		refusal = ErrUserNotFound
	}

	code, err := newCode(e.rand, e.policy.CodeDigits)
	if err != nil {
		return CodeDeliveryDetails{}, internalError(err)
	}
	label := labelCode
	if refusal != nil {
		label = labelUnusableIssue
	}
	hash := e.keys[0].hash(label, e.pool, key, code)
	out, err := e.codes.Issue(ctx, IssueParams{
		Pool: e.pool, UserKey: key, Code: hash,
		ExpiresAt: c.now.Add(e.policy.CodeLifetime), Now: c.now, Limits: e.limits,
	})
	if err != nil {
		return CodeDeliveryDetails{}, internalError(fmt.Errorf("code store: %w", err))
	}
	switch out {
	case OutcomeOK:
	case OutcomeLimitExceeded, OutcomeLocked:
		// ForgotPassword has no TooManyFailedAttemptsException in Cognito's
		// API model (SDKs could not decode it as a typed error): a locked
		// user is told the attempt limit is exceeded, which is true.
		return CodeDeliveryDetails{}, ErrLimitExceeded
	default:
		return CodeDeliveryDetails{}, internalError(fmt.Errorf("code store: %T.Issue answered %v", e.codes, out))
	}

	if refusal != nil {
		if !client.PreventUserExistenceErrors {
			return CodeDeliveryDetails{}, refusal
		}
		c.simulated = true
		first := VerifiedEmail
		if len(e.mechanisms) > 0 {
			first = e.mechanisms[0]
		}
		d := simulatedDetails(e.pseudoKey, e.pool, folded, req.Username, first)
		// Render the message a real user would get and drop it, so the
		// simulated answer costs the engine what a real one does (the
		// custom-message hook is not called: it is someone else's time).
		if _, err := e.compose(ctx, req, User{Username: req.Username}, destination{medium: d.DeliveryMedium}, code, false); err != nil {
			return CodeDeliveryDetails{}, err
		}
		return d, nil
	}

	c.medium = dest.medium
	e.observe(ctx, c, EventRequested, nil)
	if migrated != nil && migrated.MessageAction == "SUPPRESS" {
		return dest.details(), nil
	}
	if err := e.deliver(ctx, c, req, user, dest, code); err != nil {
		if rerr := e.codes.Revoke(ctx, e.pool, key, hash); rerr != nil {
			// The code was never delivered, so nobody knows it; it expires.
			e.log.LogAttrs(ctx, slog.LevelError, "recovery: revoking an undelivered code failed",
				slog.String("pool", e.pool), slog.String("sub", user.Sub), slog.Any("error", rerr))
		}
		return CodeDeliveryDetails{}, err
	}
	e.observe(ctx, c, EventDelivered, nil)
	return dest.details(), nil
}

// deliver composes the message and sends it.
func (e *Engine) deliver(ctx context.Context, c *call, req *RecoverRequest, u User, dest destination, code string) error {
	m, err := e.compose(ctx, req, u, dest, code, true)
	if err != nil {
		return err
	}
	if err := e.sender.Send(ctx, m); err != nil {
		e.observe(ctx, c, EventDeliveryFailed, err)
		return deliveryError(dest.medium, err)
	}
	return nil
}

// compose renders the message for u, through the custom-message hook when
// withHook is set and one is configured.
func (e *Engine) compose(ctx context.Context, req *RecoverRequest, u User, dest destination, code string, withHook bool) (Message, error) {
	locale, t := e.templates.pick(req.ClientMetadata["locale"], u.Attributes[AttrLocale])
	if withHook && e.hooks.CustomMessage != nil {
		ev := CustomMessageEvent{
			HookContext:       HookContext{TriggerSource: TriggerCustomMessage, PoolID: e.pool, ClientID: req.ClientID, Username: u.Username, ClientMetadata: req.ClientMetadata},
			UserAttributes:    withSub(u),
			CodeParameter:     CodePlaceholder,
			UsernameParameter: UsernamePlaceholder,
			Medium:            dest.medium,
			Locale:            locale,
		}
		cm, err := callHook(ctx, e.hooks.Timeout, TriggerCustomMessage, func(ctx context.Context) (CustomMessage, error) {
			return e.hooks.CustomMessage.CustomMessage(ctx, ev)
		})
		if err != nil {
			return Message{}, err
		}
		if t, err = applyCustomMessage(t, cm, dest.medium); err != nil {
			return Message{}, err
		}
	}
	id, err := newMessageID(e.rand)
	if err != nil {
		return Message{}, internalError(err)
	}
	m := Message{
		ID: id, Pool: e.pool, ClientID: req.ClientID, Medium: dest.medium, To: dest.to,
		Username: u.Username, Sub: u.Sub, Locale: locale, Code: code,
		ClientMetadata: req.ClientMetadata,
	}
	if dest.medium == SMS {
		m.Text = render(t.SMS, code, u.Username, false)
	} else {
		// A username from a store or a migration may hold line breaks,
		// which must not become header lines.
		m.Subject = oneLine(render(t.EmailSubject, "", u.Username, false))
		m.Text = render(t.EmailText, code, u.Username, false)
		m.HTML = render(t.EmailHTML, code, u.Username, true)
	}
	return m, nil
}

// newMessageID returns "msg_" and 32 random hex digits.
func newMessageID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("recovery: reading randomness: %w", err)
	}
	return "msg_" + hex.EncodeToString(b[:]), nil
}

// applyCustomMessage checks a custom-message hook's output (spec 8) and lays
// it over the template. Cognito's emailMessage is HTML, so it replaces both
// bodies: the HTML one with it, the text one is dropped.
func applyCustomMessage(t Template, cm CustomMessage, medium DeliveryMedium) (Template, error) {
	check := func(name, msg string, max int) error {
		switch {
		case !containsCode(msg):
			return invalidHookResponse(TriggerCustomMessage, name+" lacks the code placeholder {####}")
		case runeLen(msg) > max:
			return invalidHookResponse(TriggerCustomMessage, fmt.Sprintf("%s is longer than %d characters", name, max))
		}
		return nil
	}
	if medium == SMS && cm.SMSMessage != "" {
		if err := check("smsMessage", cm.SMSMessage, maxSMSMessage); err != nil {
			return t, err
		}
		t.SMS = cm.SMSMessage
	}
	if medium == Email {
		if cm.EmailMessage != "" {
			if err := check("emailMessage", cm.EmailMessage, maxEmailMessage); err != nil {
				return t, err
			}
			t.EmailHTML, t.EmailText = cm.EmailMessage, ""
		}
		if cm.EmailSubject != "" {
			if containsCode(cm.EmailSubject) || hasLineBreak(cm.EmailSubject) || runeLen(cm.EmailSubject) > 140 {
				return t, invalidHookResponse(TriggerCustomMessage, "emailSubject holds the code placeholder, a line break, or more than 140 characters")
			}
			t.EmailSubject = cm.EmailSubject
		}
	}
	return t, nil
}

// deliveryError maps a Sender's error to the Cognito name for its medium.
func deliveryError(medium DeliveryMedium, err error) error {
	kind := ErrCodeDeliveryFailure
	switch {
	case medium == SMS && errors.Is(err, ErrDeliveryUnauthorized):
		kind = ErrInvalidSmsRoleTrustRelationship
	case medium == SMS && errors.Is(err, ErrDeliveryForbidden):
		kind = ErrInvalidSmsRoleAccessPolicy
	case medium == Email && (errors.Is(err, ErrDeliveryUnauthorized) || errors.Is(err, ErrDeliveryForbidden)):
		kind = ErrInvalidEmailRoleAccessPolicy
	}
	k := kind.(*Error)
	return &Error{Name: k.Name, Message: k.Message, cause: err}
}

func withSub(u User) map[string]string {
	attrs := make(map[string]string, len(u.Attributes)+1)
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	attrs["sub"] = u.Sub
	return attrs
}

func (e *Engine) confirm(ctx context.Context, c *call, req *ConfirmRequest) error {
	if err := validateConfirm(req); err != nil {
		return err
	}
	client, err := e.admit(ctx, c, req.ClientID, req.SecretHash, req.Username, req.UserContextData, req.ClientMetadata)
	if err != nil {
		return err
	}
	folded := FoldIdentifier(req.Username)
	user, found, err := e.lookup(ctx, req.Username, folded)
	if err != nil {
		return err
	}
	// usable is false where no code may succeed: an unknown identifier, or
	// a user who may not reset, with existence errors prevented. The check
	// still runs, with hashes that cannot match, so the answer
	// (CodeMismatch, or ExpiredCode when nothing was issued) and the store's
	// work are those of a real user.
	key, usable := "", true
	if found {
		c.sub = user.Sub
		key = UserKey(user.Sub)
		if err := stateError(user, OpConfirmForgotPassword); err != nil {
			if !client.PreventUserExistenceErrors {
				return err
			}
			usable = false
		}
	} else {
		if !client.PreventUserExistenceErrors {
			return ErrUserNotFound
		}
		key, usable = pseudonym(e.pseudoKey, e.pool, folded), false
	}

	// The policy is evaluated before the store call, so that a weak password
	// with the right code consumes nothing (design note "confirm order").
	weak := e.passwords.Check(req.Password)
	checkHistory := e.passwords.HistorySize > 0
	// Consume does not depend on usable: the store sees the same call either way.
	out, err := e.checkCode(ctx, c, key, req.ConfirmationCode, usable, weak == nil && !checkHistory)
	if err != nil {
		return err
	}
	if out != OutcomeOK {
		return outcomeError(out, e.policy.Cooldown)
	}
	if !usable {
		return ErrCodeMismatch // unreachable: unusable hashes never match
	}
	if weak != nil {
		return weak
	}
	if checkHistory {
		if err := e.checkHistory(ctx, user.Sub, req.Password); err != nil {
			return err
		}
		// The code matched without being consumed; consume it now. A
		// concurrent confirm may have won in between: then this one fails.
		if out, err = e.checkCode(ctx, c, key, req.ConfirmationCode, true, true); err != nil {
			return err
		}
		if out != OutcomeOK {
			return outcomeError(out, e.policy.Cooldown)
		}
	}

	// Only now, with the code spent, pay for the password hash.
	hash, err := e.hasher.Hash(req.Password)
	if err != nil {
		return internalError(fmt.Errorf("password hasher: %w", err))
	}
	status := user.Status
	if status == StatusResetRequired || status == "" {
		status = StatusConfirmed
	}
	if err := e.users.SetPassword(ctx, e.pool, PasswordChange{Sub: user.Sub, PasswordHash: hash, Status: status}); err != nil {
		return internalError(fmt.Errorf("user store: setting the password: %w", err))
	}
	if e.hooks.PostConfirm != nil {
		ev := PostConfirmEvent{
			HookContext:    HookContext{TriggerSource: TriggerPostConfirm, PoolID: e.pool, ClientID: req.ClientID, Username: user.Username, ClientMetadata: req.ClientMetadata},
			Sub:            user.Sub,
			UserAttributes: withSub(user),
		}
		if _, err := callHook(ctx, e.hooks.Timeout, TriggerPostConfirm, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, e.hooks.PostConfirm.PostConfirm(ctx, ev)
		}); err != nil {
			return err
		}
	}
	return nil
}

// checkCode hashes the submitted code with every key (or, when !usable, into
// hashes that cannot match) and makes the one Check call.
func (e *Engine) checkCode(ctx context.Context, c *call, key, code string, usable, consume bool) (Outcome, error) {
	label := labelCode
	if !usable {
		label = labelUnusableCheck
	}
	cands := make([]KeyedHash, len(e.keys))
	for i, k := range e.keys {
		cands[i] = k.hash(label, e.pool, key, code)
	}
	out, err := e.codes.Check(ctx, CheckParams{Pool: e.pool, UserKey: key, Candidates: cands, Consume: consume, Now: c.now, Limits: e.limits})
	if err != nil {
		return 0, internalError(fmt.Errorf("code store: %w", err))
	}
	if out < OutcomeOK || out > OutcomeLocked {
		return 0, internalError(fmt.Errorf("code store: %T.Check answered %v", e.codes, out))
	}
	return out, nil
}

func outcomeError(out Outcome, cooldown time.Duration) error {
	switch out {
	case OutcomeMismatch:
		return ErrCodeMismatch
	case OutcomeExpired:
		return ErrExpiredCode
	case OutcomeLimitExceeded:
		return ErrLimitExceeded
	case OutcomeLocked:
		return lockedError(cooldown)
	}
	return internalError(fmt.Errorf("code store: unexpected outcome %v", out))
}

// checkHistory refuses a password among the user's recent ones.
func (e *Engine) checkHistory(ctx context.Context, sub, password string) error {
	hashes, err := e.history.RecentPasswordHashes(ctx, e.pool, sub, e.passwords.HistorySize)
	if err != nil {
		return internalError(fmt.Errorf("user store: password history: %w", err))
	}
	for _, h := range hashes {
		same, err := e.hasher.Verify(password, h)
		if err != nil {
			return internalError(fmt.Errorf("password hasher: verifying a stored hash: %w", err))
		}
		if same {
			return ErrPasswordHistoryPolicyViolation
		}
	}
	return nil
}

// migrate runs the user-migration hook for an identifier that matched nobody
// and creates the user it returns. Concurrent requests for one identifier
// share one hook call and one creation.
func (e *Engine) migrate(ctx context.Context, req *RecoverRequest, folded string) (User, *MigratedUser, bool, error) {
	type result struct {
		user User
		mu   *MigratedUser
	}
	v, err, _ := e.migrations.Do(e.pool+"\x00"+folded, func() (any, error) {
		ev := UserMigrationEvent{HookContext: HookContext{TriggerSource: TriggerUserMigration, PoolID: e.pool, ClientID: req.ClientID, Username: req.Username, ClientMetadata: req.ClientMetadata}}
		mu, err := callHook(ctx, e.hooks.Timeout, TriggerUserMigration, func(ctx context.Context) (*MigratedUser, error) {
			return e.hooks.UserMigration.MigrateUser(ctx, ev)
		})
		if err != nil || mu == nil {
			return result{}, err
		}
		u, err := e.migratedUser(req.Username, mu)
		if err != nil {
			return result{}, err
		}
		created, err := e.creator.CreateUser(ctx, e.pool, u, "")
		if errors.Is(err, ErrUsernameExists) || errors.Is(err, ErrAliasExists) {
			// Another instance migrated the user first: use that one.
			found, ok, lerr := e.lookup(ctx, req.Username, folded)
			if lerr != nil || !ok {
				return result{}, internalError(fmt.Errorf("user store: migrated user vanished: %w", err))
			}
			return result{found, mu}, nil
		}
		if err != nil {
			return result{}, internalError(fmt.Errorf("user store: creating a migrated user: %w", err))
		}
		return result{created, mu}, nil
	})
	if err != nil {
		return User{}, nil, false, err
	}
	r := v.(result)
	if r.mu == nil {
		return User{}, nil, false, nil
	}
	return r.user, r.mu, true, nil
}

// migratedUser checks the hook's response (spec 8) and builds the user.
func (e *Engine) migratedUser(username string, mu *MigratedUser) (User, error) {
	status := mu.FinalStatus
	switch status {
	case "":
		status = StatusResetRequired
	case StatusConfirmed, StatusResetRequired:
	default:
		return User{}, invalidHookResponse(TriggerUserMigration, "finalUserStatus must be CONFIRMED or RESET_REQUIRED")
	}
	switch mu.MessageAction {
	case "", "SUPPRESS", "RESEND":
	default:
		return User{}, invalidHookResponse(TriggerUserMigration, "messageAction must be SUPPRESS or RESEND")
	}
	for _, m := range mu.DesiredDeliveryMediums {
		if m != Email && m != SMS {
			return User{}, invalidHookResponse(TriggerUserMigration, "desiredDeliveryMediums may hold EMAIL and SMS only")
		}
	}
	attrs := make(map[string]string, len(mu.Attributes))
	for k, v := range mu.Attributes {
		if k != "sub" && k != "username" {
			attrs[k] = v
		}
	}
	return User{Username: username, Enabled: true, Status: status, Attributes: attrs}, nil
}

// observe sends an event to the Observer, containing its panics.
func (e *Engine) observe(ctx context.Context, c *call, kind EventKind, err error) {
	if e.hooks.Observer == nil {
		return
	}
	ev := Event{
		Kind: kind, Operation: c.op, PoolID: e.pool, ClientID: c.clientID,
		Sub: c.sub, Medium: c.medium, Err: err, Time: c.start, Duration: e.now().Sub(c.start),
	}
	var ae *Error
	if errors.As(err, &ae) {
		ev.Reason = ae.Name
	}
	if c.analytics != nil {
		ev.AnalyticsEndpointID = c.analytics.AnalyticsEndpointID
	}
	defer func() {
		if p := recover(); p != nil {
			e.log.LogAttrs(ctx, slog.LevelError, "recovery: observer panicked", slog.String("pool", e.pool))
		}
	}()
	e.hooks.Observer.Observe(ctx, ev)
}

// finish logs the outcome, reports the final event and returns err as an
// *Error (anything else becomes InternalErrorException).
func (e *Engine) finish(ctx context.Context, c *call, err error) error {
	if err == nil {
		kind, msg := EventConfirmed, "recovery: password reset"
		if c.op == OpForgotPassword {
			kind, msg = "", "recovery: code sent"
			if c.simulated {
				kind, msg = EventSimulated, "recovery: simulated answer"
			}
		}
		e.logOutcome(ctx, c, slog.LevelDebug, msg, nil)
		if kind != "" {
			e.observe(ctx, c, kind, nil)
		}
		e.endTrace(ctx, c, "ok")
		return nil
	}
	ae, ok := err.(*Error)
	if !ok {
		ae = internalError(err)
	}
	level := slog.LevelDebug
	switch ae.Name {
	case "InternalErrorException":
		level = slog.LevelError
	case "UnexpectedLambdaException", "InvalidLambdaResponseException", "CodeDeliveryFailureException",
		"InvalidSmsRoleAccessPolicyException", "InvalidSmsRoleTrustRelationshipException", "InvalidEmailRoleAccessPolicyException":
		level = slog.LevelWarn
	}
	e.logOutcome(ctx, c, level, "recovery: request failed", ae)
	kind := EventRejected
	switch ae.Name {
	case "TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException":
		kind = EventRateLimited
	}
	e.observe(ctx, c, kind, ae)
	e.endTrace(ctx, c, ae.Name)
	return ae
}

// logOutcome writes the request's log record, building its attributes only
// when the logger takes that level (routine outcomes are Debug, usually off).
func (e *Engine) logOutcome(ctx context.Context, c *call, level slog.Level, msg string, ae *Error) {
	if !e.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", string(c.op)),
		slog.String("pool", e.pool),
		slog.String("client_id", c.clientID),
		slog.Duration("duration", e.now().Sub(c.start)),
	}
	if c.sub != "" {
		attrs = append(attrs, slog.String("sub", c.sub))
	}
	if c.medium != "" {
		attrs = append(attrs, slog.String("medium", string(c.medium)))
	}
	if ae != nil {
		attrs = append(attrs, slog.String("error", ae.Name))
		if ae.cause != nil {
			attrs = append(attrs, slog.String("cause", ae.cause.Error()))
		}
	}
	e.log.LogAttrs(ctx, level, msg, attrs...)
}

// endTrace closes the OperationTracer's trace of the request, containing its
// panics as observe does.
func (e *Engine) endTrace(ctx context.Context, c *call, outcome string) {
	if c.end == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			e.log.LogAttrs(ctx, slog.LevelError, "recovery: operation tracer panicked", slog.String("pool", e.pool))
		}
	}()
	c.end(outcome)
}
