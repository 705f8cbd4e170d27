package recovery

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// CodeIssuingFinder is an optional ability of a UserStore that shares a
// database with the CodeStore: it finds a user and issues a code in one
// statement, so that ForgotPassword costs one round trip instead of two.
// pgxstore's user stores have it when built with their code store
// (WithCodeStore).
//
// The store decides, inside the statement, whether the user found may be
// sent a code (FindIssueParams says how); the engine decides again from the
// user returned and refuses to go on, as an internal error, when the two
// disagree. The engine does not use the ability with a UserMigration hook
// (an unknown user may yet be made by it) or in a case-sensitive pool (the
// engine re-checks the identifier's case after the store found a user).
type CodeIssuingFinder interface {
	// IssuesCodesOf reports whether FindUserIssuing works on the records
	// of codes; the engine uses the ability only for its own CodeStore.
	IssuesCodesOf(codes CodeStore) bool
	// FindUserIssuing finds the user q names as FindUser does and issues a
	// code as CodeStore.Issue does, in one atomic step:
	//
	//   - found, and Eligible by p's rule: Issue under UserKey(sub) with
	//     p.Code bound to the user, that is KeyID p.Code.KeyID and hash
	//     SHA-256(p.Code.Hash || UserKey(sub)) (BoundCode);
	//   - found and not Eligible: Issue under UserKey(sub) with p.Unusable;
	//   - not found: Issue under p.UnknownKey with p.Unusable, or, when
	//     p.UnknownKey is "", no Issue at all (Outcome 0).
	//
	// An error means nothing was issued.
	FindUserIssuing(ctx context.Context, pool string, q UserQuery, p FindIssueParams) (FoundIssue, error)
}

// FindIssueParams is the input of CodeIssuingFinder.FindUserIssuing: the
// rule that makes a found user Eligible, and IssueParams' fields for each
// case.
//
// A found user is Eligible when not Disabled, of Status CONFIRMED,
// RESET_REQUIRED or empty, and with a usable channel: for some medium in
// Media, the user's attribute for it (email, phone_number) is non-empty,
// verified ("true"), and not the user's MFA factor for that medium
// (EmailMFA, SMSMFA).
type FindIssueParams struct {
	// Media are the delivery media a code may go by (the pool's
	// AccountRecovery mechanisms, less those nobody can be served by).
	Media []DeliveryMedium
	// Code is the keyed hash of the new code, bound to the pool but not
	// yet to the user: the store binds it (BoundCode) once it knows the
	// user, and stores that.
	Code KeyedHash
	// Unusable is what to store when no code may be sent: a hash no
	// submitted code can match.
	Unusable KeyedHash
	// UnknownKey is the code-store key to charge when nobody is found, or
	// "" to issue nothing then.
	UnknownKey string
	// ExpiresAt, Now and Limits as in IssueParams.
	ExpiresAt time.Time
	Now       time.Time
	Limits    CodeLimits
}

// FoundIssue is the answer of CodeIssuingFinder.FindUserIssuing.
type FoundIssue struct {
	// User is the user found, when Found.
	User  User
	Found bool
	// Eligible is the store's verdict on User by FindIssueParams' rule:
	// whether p.Code (true) or p.Unusable (false) was stored.
	Eligible bool
	// Outcome is the Issue's (0 when nothing was issued).
	Outcome Outcome
}

// BoundCode is what a CodeIssuingFinder stores for an Eligible user:
// code's hash bound to the user, SHA-256(code.Hash || userKey), under the
// same KeyID. A store that found the user computes it in its own statement
// (PostgreSQL: sha256(hash || convert_to(user_key, 'UTF8'))); the engine
// computes the same to check a code, since it knows the user by then. Bound
// hashes, like the engine's own, do not match in another user's record.
func BoundCode(code KeyedHash, userKey string) KeyedHash {
	var buf [128]byte // on the stack for ordinary user keys
	sum := sha256.Sum256(append(append(buf[:0], code.Hash...), userKey...))
	return KeyedHash{KeyID: code.KeyID, Hash: sum[:]}
}

// boundKeyID marks the key ID of a code bound by a CodeIssuingFinder, so a
// store compares such a code only with candidates bound the same way. Key
// IDs cannot contain '+' (validKeyID), so it names no configured key.
func boundKeyID(id string) string { return id + "+u" }

// poolCode is the hash of a code bound to the pool alone, which
// BoundCode then binds to the user.
func (k engineKey) poolCode(label, pool, code string) KeyedHash {
	return KeyedHash{KeyID: boundKeyID(k.id), Hash: k.macs.sum(label, pool, code)}
}

// errEligibility is the internal error for a store whose verdict on a user
// differs from the engine's.
var errEligibility = errors.New("the store and the engine disagree on whether the user may be sent a code")

// findIssuing is target and issue in one store call, for a
// CodeIssuingFinder. It answers what they answer, with the code and the
// hash that was stored for it.
func (e *Engine) findIssuing(ctx context.Context, c *call, req *RecoverRequest, folded string, hide bool) (target, string, KeyedHash, error) {
	var t target
	code, err := newCode(e.rand, e.policy.CodeDigits)
	if err != nil {
		return t, "", KeyedHash{}, internalError(err)
	}
	unknown := pseudonym(e.pseudoKey, e.pool, folded)
	p := FindIssueParams{
		Media:     e.media,
		Code:      e.keys[0].poolCode(labelCodePool, e.pool, code),
		Unusable:  e.keys[0].hash(labelUnusableIssue, e.pool, unknown, code),
		ExpiresAt: c.now.Add(e.policy.CodeLifetime), Now: c.now, Limits: e.limits,
	}
	if hide {
		p.UnknownKey = unknown
	}
	res, err := e.findIssuer.FindUserIssuing(ctx, e.pool, UserQuery{Identifier: req.Username, Key: folded}, p)
	switch {
	case err != nil:
		return t, "", KeyedHash{}, internalError(fmt.Errorf("user store: %w", err))
	case res.Found && res.User.Sub == "":
		return t, "", KeyedHash{}, internalError(fmt.Errorf("user store: %T.FindUserIssuing returned a user without Sub", e.users))
	case !res.Found && !hide:
		return t, "", KeyedHash{}, ErrUserNotFound
	case !res.Found:
		t.key, t.refusal = unknown, ErrUserNotFound
		return t, code, p.Unusable, e.issued(e.users, res.Outcome)
	}
	c.sub = res.User.Sub
	t.user, t.key = res.User, UserKey(res.User.Sub)
	var bad error
	if t.refusal = stateError(t.user, OpForgotPassword); t.refusal == nil {
		t.dest, t.refusal, bad = e.chooseChannel(t.user, nil, folded)
	}
	if bad == nil && res.Eligible != (t.refusal == nil) {
		bad = internalError(fmt.Errorf("user store: %T, user %s: %w", e.users, t.user.Sub, errEligibility))
	}
	if bad != nil {
		if res.Eligible && res.Outcome == OutcomeOK {
			// A code nobody will receive must not stay usable.
			e.revokeUndelivered(ctx, t.key, BoundCode(p.Code, t.key))
		}
		return t, "", KeyedHash{}, bad
	}
	hash := p.Unusable
	if res.Eligible {
		hash = BoundCode(p.Code, t.key)
	}
	return t, code, hash, e.issued(e.users, res.Outcome)
}

// issued maps the outcome of an Issue by store to Recover's answer: nil
// for OutcomeOK.
func (e *Engine) issued(store any, out Outcome) error {
	switch out {
	case OutcomeOK:
		return nil
	case OutcomeLimitExceeded, OutcomeLocked:
		// ForgotPassword has no TooManyFailedAttemptsException in Cognito's
		// API model (SDKs could not decode it as a typed error): a locked
		// user is told the attempt limit is exceeded, which is true.
		return ErrLimitExceeded
	}
	return internalError(fmt.Errorf("code store: %T answered %v to an issue", store, out))
}

// revokeUndelivered revokes a code that was never delivered; a failure is
// logged (nobody knows the code, and it expires).
func (e *Engine) revokeUndelivered(ctx context.Context, key string, hash KeyedHash) {
	if err := e.codes.Revoke(ctx, e.pool, key, hash); err != nil {
		e.logLimited(ctx, slog.LevelError, "recovery: revoking an undelivered code failed", "",
			slog.String("pool", e.pool), slog.String("user_key", key), slog.String("error", err.Error()))
	}
}
