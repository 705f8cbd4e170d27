package recovery

import (
	"context"
	"time"
)

// KeyedHash is a code hashed with one server key: HMAC-SHA256 over the pool,
// the user key and the code. Stores keep only this, never the code.
type KeyedHash struct {
	// KeyID names the Key that made Hash, so keys can rotate without
	// rewriting stored hashes.
	KeyID string
	// Hash is the 32-byte HMAC.
	Hash []byte
}

// CodeLimits is the per-user policy a CodeStore enforces inside each call.
// The engine passes it in so the store needs no configuration of its own.
type CodeLimits struct {
	// Budget is how many codes may be issued to a user in any rolling
	// Window.
	Budget int
	// FailureBudget is how many failed checks (mismatches) a user may have
	// in any rolling Window.
	FailureBudget int
	// Window is the length of the rolling window of both budgets.
	Window time.Duration
	// MaxFailures is the consecutive failed checks after which the user is
	// locked; a consumed match resets the streak.
	MaxFailures int
	// Cooldown is how long the lock lasts, from the failure that set it.
	Cooldown time.Duration
}

// IssueParams is the input of CodeStore.Issue.
type IssueParams struct {
	// Pool is the user pool ID; stores keep pools apart.
	Pool string
	// UserKey identifies whose code this is: "u:"+sub for a user, or a
	// keyed pseudonym for an identifier that matches nobody.
	UserKey string
	// Code is the keyed hash of the new code.
	Code KeyedHash
	// ExpiresAt is when the code stops being valid (valid while Now is before it).
	ExpiresAt time.Time
	// Now is the current time; stores never read their own clock.
	Now time.Time
	// Limits is the budget and lock policy.
	Limits CodeLimits
}

// CheckParams is the input of CodeStore.Check.
type CheckParams struct {
	// Pool and UserKey as in IssueParams.
	Pool, UserKey string
	// Candidates is the submitted code hashed with every configured key; the
	// store compares the stored hash only with the candidate whose KeyID
	// matches, in constant time.
	Candidates []KeyedHash
	// Consume makes a match use the code up (single use) and reset the
	// failure streak. Without it a match changes nothing.
	Consume bool
	// Now is the current time.
	Now time.Time
	// Limits is the budget and lock policy.
	Limits CodeLimits
}

// Outcome is the verdict of a CodeStore call.
type Outcome int

// Outcomes. Issue answers OutcomeOK, OutcomeLimitExceeded or OutcomeLocked;
// Check answers any of them.
const (
	// OutcomeOK: Issue stored the code; Check found a match (consumed if asked).
	OutcomeOK Outcome = iota + 1
	// OutcomeMismatch: Check found a current code that differs. The failure
	// was charged to the failure budget and the streak.
	OutcomeMismatch
	// OutcomeExpired: Check found no current code (expired, used, revoked,
	// replaced or never issued). Nothing was charged.
	OutcomeExpired
	// OutcomeLimitExceeded: a budget is spent (see CodeStore). Nothing was
	// compared, stored or charged.
	OutcomeLimitExceeded
	// OutcomeLocked: the failure streak reached MaxFailures less than
	// Cooldown ago. Nothing was compared, stored or charged.
	OutcomeLocked
)

func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeMismatch:
		return "mismatch"
	case OutcomeExpired:
		return "expired"
	case OutcomeLimitExceeded:
		return "limit_exceeded"
	case OutcomeLocked:
		return "locked"
	}
	return "invalid"
}

// CodeStore keeps one recovery record per (pool, user key): the current code's
// keyed hash with its key id, expiry and used flag, the times of the recent
// issues (at most Budget of them) and of the recent failed checks (at most
// FailureBudget), the consecutive-failure count and the lock time.
// store/memstore, store/pgxstore and store/redisstore implement it;
// recovery/recoverytest checks any implementation.
//
// Each method is one atomic step against the backing store (one critical
// section, one SQL statement, one script): two concurrent calls for the same
// user must behave as if run one after the other, in some order. That is
// what makes a code single-use and the budgets exact under concurrency.
//
// Rules every Issue and Check applies, in order, at p.Now:
//  1. If the lock is set and Now is before it ends: OutcomeLocked. If it has
//     ended, the lock and the failure streak are cleared.
//  2. Issue and failure times at or before Now-Window are forgotten. If
//     FailureBudget failures remain: OutcomeLimitExceeded. For Issue, also
//     if Budget issues remain.
//
// Then Issue records an issue at Now and replaces any previous code with
// p.Code, not used (the latest code wins): OutcomeOK. Check, if there is no
// current code, it is used, or Now is not before its expiry:
// OutcomeExpired. On a match (same KeyID, equal hash): if Consume, the code
// is marked used and the streak reset; OutcomeOK. Otherwise it records a
// failure at Now, adds one to the streak, sets the lock to Now+Cooldown when
// the streak reaches MaxFailures, and answers OutcomeMismatch.
//
// The two budgets are what make every code the engine sends usable: a code
// is issued only while a failed check is still allowed, requests never use
// up the room for checks, and a match is never charged. Only wrong guesses
// (up to the lock) can stand between a user and the code they were sent.
//
// Times must be kept to at least millisecond precision and compared as
// instants (the engine truncates them to milliseconds).
//
// A record lapses once Now has reached all of: its code's expiry (used or
// not), the end of the window of its latest issue and of its latest
// failure, its lock's end, and Cooldown after its latest failure (so a
// failure streak survives pauses shorter than the cool-down). A lapsed
// record must behave exactly as an absent one, and the store must reclaim
// it (lazily, by sweeping, or by a TTL computed from Now and these
// deadlines), so that storage stays bounded.
//
// An error return means the store failed (the engine answers
// InternalErrorException); outcomes are never errors.
type CodeStore interface {
	// Issue charges one issue and stores p.Code as the user's current
	// code, unless the user is locked or a budget is spent.
	Issue(ctx context.Context, p IssueParams) (Outcome, error)

	// Check compares a submitted code with the current one, charging a
	// mismatch to the failure budget and the streak.
	Check(ctx context.Context, p CheckParams) (Outcome, error)

	// Revoke makes the user's current code unusable for good if it is
	// still code, used or not (a newer code is left alone); Restore cannot
	// bring it back. The engine calls it when delivery of a just-issued
	// code failed. Revoking nothing is not an error.
	Revoke(ctx context.Context, pool, userKey string, code KeyedHash) error

	// Restore makes a used code usable again: if the user's current code
	// is used, has not expired at p.Now and matches one of p.Candidates (as
	// in Check), it is marked unused; otherwise nothing changes. Nothing is
	// charged and the streak is left as it is. The engine calls it when a
	// code matched and was consumed but the new password could not be
	// hashed or stored, so that the user can retry with the same code.
	// Restoring nothing is not an error.
	Restore(ctx context.Context, p RestoreParams) error
}

// RestoreParams is the input of CodeStore.Restore.
type RestoreParams struct {
	// Pool and UserKey as in IssueParams.
	Pool, UserKey string
	// Candidates as in CheckParams: the code that was consumed, hashed
	// with every configured key.
	Candidates []KeyedHash
	// Now is the current time.
	Now time.Time
}

// ExpiredSweeper is an optional ability of a CodeStore that removes records
// whose deadlines have all passed, at most limit of them per call.
type ExpiredSweeper interface {
	SweepExpired(ctx context.Context, now time.Time, limit int) (removed int, err error)
}

// CodeInspector is an optional ability of a CodeStore: it tells whether
// code is still the user's current code, unused and unexpired at now,
// without changing anything. Engine.Deliver asks it before sending a
// delivery that waited in an outbox (a mail outage, a restart), so that a
// message whose code was replaced by a newer one, used, or revoked is
// dropped instead of arriving late with a code that no longer works.
// memstore, pgxstore and redisstore have it.
type CodeInspector interface {
	Outstanding(ctx context.Context, pool, userKey string, code KeyedHash, now time.Time) (bool, error)
}
