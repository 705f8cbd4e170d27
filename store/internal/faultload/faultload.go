package faultload

import (
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// Run runs a bounded, mixed load through a real recovery.Engine on cfg's
// stores while cfg.Cut and cfg.Restore take the backend away and give it
// back, several times, and then checks that no promise was broken. From a
// store's test file:
//
//	func TestFaultLoad(t *testing.T) {
//		recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
//		cut, restore := faultload.Repeatedly(5*time.Millisecond, killMyConnections)
//		faultload.Run(t, faultload.Config{
//			Codes: codes, Users: users, PasswordHash: users.PasswordHash,
//			Cut: cut, Restore: restore,
//		})
//	}
//
// Run does not check recoverytest.EnvFaults itself; its callers opt in.
//
// # The load
//
// Two phases, each on its own pool of cfg.UserCount users with verified
// emails, each with half of cfg.Ops operations from cfg.Workers goroutines
// at once: Recover, Confirm with the code the user was last sent (read from
// a capturesender.Sender), Confirm with that code and a weak password,
// Confirm with an older code of the user, and Confirm with a wrong code
// (one never sent to the user), for users picked at random, so that
// operations on one user overlap. Every new password is unique. Phase
// "budget" has a budget of 3 per 10 minutes and codes that live 5 minutes;
// phase "lock" a budget of 1000, a lock after 6 consecutive failures for 10
// minutes, and every fifth user mostly guessing, with half of the
// operations. The engine's clock is injected and moves between rounds of
// operations (every worker does 10 per round): a minute, and every fourth
// round six, past the code lifetime. The outages are placed by operation
// count, the i-th cut at (3i+1)/(3n) of the phase and its restore at
// (3i+2)/(3n), so they overlap the load however fast the store is.
//
// # The checks
//
// From what the clients saw (each call's answer, its injected time, and its
// order in real time: a call that ended before another began happened
// before it):
//   - every answer is OK, a legitimate refusal (CodeMismatch, ExpiredCode,
//     LimitExceeded, TooManyFailedAttempts, InvalidPassword for the weak
//     passwords), or InternalErrorException; no call panics;
//   - every accepted code was sent to that user by an earlier or concurrent
//     Recover, is accepted once per sending, was sent less than
//     CodeLifetime before, and was not replaced by a Recover that ended
//     before the Confirm began; a wrong code is never accepted, nor a weak
//     password;
//   - no call passes the budget (OK, CodeMismatch, ExpiredCode or
//     InvalidPassword) when Budget charges (successful Recover calls and
//     CodeMismatch answers) that ended before it began already fall in its
//     window;
//   - after a TooManyFailedAttemptsException, no call for that user passes
//     the gate before the lock can have ended: Cooldown after the latest
//     mismatch seen before it, and never at the same instant.
//
// From the stores, after the phase's last restore (reads are retried until
// the backend answers):
//   - with cfg.PasswordHash, each user's stored password is the one of a
//     Confirm that succeeded, or failed with an internal error (it may have
//     been applied), that no successful Confirm begun after its end
//     superseded; or the initial one if no Confirm succeeded;
//   - with cfg.Events, the budget events the store holds in the current
//     window are at least those the clients saw charged there and, unless
//     cfg.CallsMayRepeat, at most those plus the calls there that failed
//     with an internal error.
//
// Then, with the outages over and nothing restarted, the clock moves past
// every window and lock and every user must complete Recover and Confirm
// (internal errors are retried within cfg.SettleTimeout: pooled connections
// that died are found on use), and then, a second time, every user must
// complete both without a single error, and the stored password must be the
// last one set.
//
// Finally Run fails the test if the load proved nothing: no internal
// error, no accepted code, no refused budget, no lock, no expired code
// tried. It logs the report and returns it.
func Run(t testing.TB, cfg Config) Report {
	t.Helper()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.PasswordHash == nil {
		t.Log("Config.PasswordHash is nil: the check that no password change is lost is skipped")
		if cfg.FailedConfirmsRetryable {
			t.Fatal("Config.FailedConfirmsRetryable needs PasswordHash, to tell an applied change from one that was not")
		}
	}
	if cfg.Events == nil {
		t.Log("Config.Events is nil: stored budget events are not compared with the charges seen")
	}
	var report Report
	for i, ph := range faultPhases() {
		report.Phases = append(report.Phases, runPhase(t, cfg, i, ph))
	}
	t.Logf("fault load:\n%v", report)
	report.requireExercised(t, cfg.FailedConfirmsRetryable)
	return report
}

// opsPerRound is how many operations each worker does between two moves of
// the clock.
const opsPerRound = 10

// faultKey is the code-hashing key of the load's engines.
var faultKey = recovery.Key{ID: "faults", Secret: []byte("recoverytest-fault-load-key-0123456789")}

// opKind is what a worker does.
type opKind int

const (
	kindRecover opKind = iota // Recover
	kindLatest                // Confirm the code last sent, new password
	kindWeak                  // the same with a weak password
	kindOld                   // Confirm a code sent earlier, perhaps used
	kindWrong                 // Confirm a code never sent to the user
	numKinds
)

// String names the operation in failure messages.
func (k opKind) String() string {
	return [...]string{"Recover", "Confirm latest", "Confirm weak", "Confirm old", "Confirm wrong"}[k]
}

// faultPhase is one phase of the load.
type faultPhase struct {
	name     string
	policy   recovery.Policy
	normal   [numKinds]int // operation weights
	attacked [numKinds]int // weights for every fifth user, who gets half of the operations; zero: none
}

// faultPhases are the two phases: one that spends budgets, one that locks
// users out.
func faultPhases() []faultPhase {
	return []faultPhase{
		{
			name:   "budget",
			policy: recovery.Policy{CodeLifetime: 5 * time.Minute, Budget: 3, FailureBudget: 3, BudgetWindow: 10 * time.Minute},
			normal: [numKinds]int{35, 30, 5, 10, 20},
		},
		{
			name: "lock",
			policy: recovery.Policy{CodeLifetime: 5 * time.Minute, Budget: 1000, FailureBudget: 1000, BudgetWindow: time.Hour,
				MaxFailures: 6, Cooldown: 10 * time.Minute, MaxGuessProbability: 1},
			normal:   [numKinds]int{30, 30, 5, 5, 30},
			attacked: [numKinds]int{25, 0, 0, 0, 75},
		},
	}
}
