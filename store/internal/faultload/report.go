package faultload

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// Report is what Run saw, phase by phase.
type Report struct {
	Phases []PhaseReport
}

// PhaseReport counts one phase of Run.
type PhaseReport struct {
	// Name is "budget" or "lock".
	Name string
	// Policy is the engine's policy in the phase.
	Policy recovery.Policy
	// Ops is the number of operations under load; Cuts the outages.
	Ops, Cuts int
	// Outcomes counts the answers by operation and outcome:
	// "Recover OK", "Confirm CodeMismatchException" and so on.
	Outcomes map[string]int
	// Internal counts InternalErrorException answers.
	Internal int
	// Accepted counts successful Confirm calls (codes accepted); Sent the
	// codes delivered by successful Recover calls.
	Accepted, Sent int
	// Stale counts Confirm calls made with a code sent more than
	// CodeLifetime earlier (by the injected clock), to show that expiry
	// was exercised.
	Stale int
	// LockedUsers counts the users who got TooManyFailedAttemptsException.
	LockedUsers int
	// Violations counts the broken invariants (each also a test error).
	Violations int
	// Retried counts the Confirm calls that failed with an internal error
	// during the retry check (FailedConfirmsRetryable) and were retried with
	// their code: RetriedOK succeeded, RetriedApplied had been applied and
	// rightly found their code used.
	Retried, RetriedOK, RetriedApplied int
	// ReadErrors counts the failed reads of the stores' contents after
	// the last Restore (each is retried). SettleErrors counts the internal
	// errors after those reads before every user had completed a reset
	// again, and Settle is how long that took.
	ReadErrors, SettleErrors int
	Settle                   time.Duration
	// Duration is the wall time of the load.
	Duration time.Duration
}

// String summarizes the report on a few lines.
func (r Report) String() string {
	var b strings.Builder
	for i, p := range r.Phases {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// String summarizes the phase.
func (p PhaseReport) String() string {
	keys := make([]string, 0, len(p.Outcomes))
	for k := range p.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var outs []string
	for _, k := range keys {
		outs = append(outs, fmt.Sprintf("%s %d", k, p.Outcomes[k]))
	}
	return fmt.Sprintf("phase %s (budget %d and %d failures per %s, lock after %d failures for %s, codes live %s): "+
		"%d ops in %s with %d cuts; %d internal errors; %d codes sent, %d accepted, %d confirms of expired codes, %d users locked; "+
		"%d violations; %d failed confirms retried (%d succeeded, %d had been applied); "+
		"after the last restore %d failed reads, then %d internal errors and %s until every user reset again\n  %s",
		p.Name, p.Policy.Budget, p.Policy.FailureBudget, p.Policy.BudgetWindow, p.Policy.MaxFailures, p.Policy.Cooldown, p.Policy.CodeLifetime,
		p.Ops, p.Duration.Round(time.Millisecond), p.Cuts, p.Internal, p.Sent, p.Accepted, p.Stale, p.LockedUsers,
		p.Violations, p.Retried, p.RetriedOK, p.RetriedApplied, p.ReadErrors, p.SettleErrors, p.Settle.Round(time.Millisecond), strings.Join(outs, ", "))
}

// requireExercised fails t when the load did not reach what it is meant to
// test.
func (r Report) requireExercised(t testing.TB, retryable bool) {
	t.Helper()
	var stale, mismatches int
	for _, p := range r.Phases {
		if p.Internal == 0 {
			t.Errorf("phase %s: no call failed with an internal error: the outages did not bite, the test proves nothing", p.Name)
		}
		if p.Accepted == 0 {
			t.Errorf("phase %s: no code was accepted", p.Name)
		}
		stale += p.Stale
		mismatches += p.Outcomes["Confirm CodeMismatchException"]
		switch p.Name {
		case "budget":
			if p.Outcomes["Recover LimitExceededException"]+p.Outcomes["Confirm LimitExceededException"] == 0 {
				t.Errorf("phase %s: no budget was ever spent", p.Name)
			}
		case "lock":
			if p.LockedUsers == 0 {
				t.Errorf("phase %s: no user was locked", p.Name)
			}
		}
	}
	if stale == 0 {
		t.Errorf("no Confirm used an expired code: expiry was not exercised")
	}
	if retryable {
		retried := 0
		for _, p := range r.Phases {
			retried += p.Retried
		}
		if retried == 0 {
			t.Errorf("no Confirm failed during the retry check's outages: retrying was not exercised")
		}
	}
	if mismatches == 0 {
		t.Errorf("no Confirm got CodeMismatchException")
	}
}
