package faultload

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// checkAnswers checks what the clients saw and counts it into rep: each
// answer on its own, then the answers of each user together, invariant by
// invariant.
func (r *faultRun) checkAnswers(v *violations, ops []*faultOp, rep *PhaseReport) {
	for _, op := range ops {
		r.checkAnswer(v, op, rep)
	}
	for u, uops := range byUser(ops, len(r.users)) {
		h := newUserHistory(r.users[u].name, uops)
		if len(h.locks) > 0 {
			rep.LockedUsers++
		}
		r.checkBudgets(v, h)
		r.checkLocks(v, h)
		rep.Stale += r.countStale(h)
		r.checkAcceptances(v, h)
	}
}

// checkAnswer checks that one answer is OK, a legitimate refusal or an
// internal error, and counts it.
func (r *faultRun) checkAnswer(v *violations, op *faultOp, rep *PhaseReport) {
	name := "Confirm"
	if op.isRecover() {
		name = "Recover"
	}
	rep.Outcomes[name+" "+op.outcome()]++
	user := r.users[op.user].name
	switch {
	case op.panicked != nil:
		v.add("panic", "%s for %s panicked: %v", op, user, op.panicked)
	case op.err == nil:
		if op.weak() {
			v.add("weak password accepted", "%s for %s", op, user)
		}
	case op.internal():
		rep.Internal++
	case op.isRecover():
		if !errors.Is(op.err, recovery.ErrLimitExceeded) {
			v.add("unexpected error", "%s for %s: %v", op, user, op.err)
		}
	case errors.Is(op.err, recovery.ErrInvalidPassword):
		if !op.weak() {
			v.add("unexpected error", "%s for %s with a valid password: %v", op, user, op.err)
		}
	case errors.Is(op.err, recovery.ErrCodeMismatch), errors.Is(op.err, recovery.ErrExpiredCode),
		errors.Is(op.err, recovery.ErrLimitExceeded), errors.Is(op.err, recovery.ErrTooManyFailedAttempts):
	default:
		v.add("unexpected error", "%s for %s: %v", op, user, op.err)
	}
	if op.isRecover() && op.err == nil {
		rep.Sent++
		if op.code == "" {
			v.add("no code sent", "%s for %s answered OK but sent nothing", op, user)
		}
	}
	if !op.isRecover() && op.err == nil && op.panicked == nil {
		rep.Accepted++
	}
}

// userHistory is what the calls for one user answered.
type userHistory struct {
	name    string
	ops     []*faultOp // every call, in order of start
	sends   []*faultOp // the Recover calls that sent a code
	accepts []*faultOp // the Confirm calls that succeeded
	locks   []*faultOp // the calls answered TooManyFailedAttempts
}

// newUserHistory sorts one user's calls, in order of start, by what they
// answered.
func newUserHistory(name string, uops []*faultOp) userHistory {
	h := userHistory{name: name, ops: uops}
	for _, op := range uops {
		switch {
		case op.isRecover() && op.err == nil && op.code != "":
			h.sends = append(h.sends, op)
		case !op.isRecover() && op.err == nil && op.panicked == nil:
			h.accepts = append(h.accepts, op)
		case errors.Is(op.err, recovery.ErrTooManyFailedAttempts):
			h.locks = append(h.locks, op)
		}
	}
	return h
}

// checkBudgets: nothing passes the gate once FailureBudget failures that
// ended before it began fall in its window, and no Recover once Budget
// issues do.
func (r *faultRun) checkBudgets(v *violations, h userHistory) {
	p := r.engine.Policy()
	for _, g := range h.ops {
		if !g.gated() {
			continue
		}
		issues, misses := 0, 0
		for _, e := range h.ops {
			if e.end < g.start && e.at.After(g.at.Add(-p.BudgetWindow)) {
				if e.issued() {
					issues++
				}
				if e.missed() {
					misses++
				}
			}
		}
		if misses >= p.FailureBudget {
			v.add("budget overrun", "%s for %s after %d failures in its window (failure budget %d)", g, h.name, misses, p.FailureBudget)
		}
		if g.isRecover() && issues >= p.Budget {
			v.add("budget overrun", "%s for %s after %d issues in its window (budget %d)", g, h.name, issues, p.Budget)
		}
	}
}

// checkLocks: after TooManyFailedAttempts, nothing passes the gate before
// the lock can have ended, Cooldown after the latest mismatch seen before
// it, and never at the same instant.
func (r *faultRun) checkLocks(v *violations, h userHistory) {
	p := r.engine.Policy()
	for _, l := range h.locks {
		end := l.at.Add(time.Millisecond)
		for _, m := range h.ops {
			if m.end < l.start && errors.Is(m.err, recovery.ErrCodeMismatch) && m.at.Add(p.Cooldown).After(end) {
				end = m.at.Add(p.Cooldown)
			}
		}
		for _, g := range h.ops {
			if g.start > l.end && g.gated() && g.at.Before(end) {
				v.add("answered while locked", "%s for %s after %s; the lock lasts at least until %s", g, h.name, l, rel(end))
			}
		}
	}
}

// countStale counts, for the report, the confirms of a code whose latest
// sending before the call is CodeLifetime old: they show that expiry was
// exercised.
func (r *faultRun) countStale(h userHistory) int {
	p := r.engine.Policy()
	stale := 0
	for _, c := range h.ops {
		if c.isRecover() || c.internal() {
			continue
		}
		var last *faultOp
		for _, s := range h.sends {
			if s.code == c.code && s.end < c.start {
				last = s
			}
		}
		if last != nil && !c.at.Before(last.at.Add(p.CodeLifetime)) {
			stale++
		}
	}
	return stale
}

// checkAcceptances matches each accepted code to its own sending of that
// code to this user, begun before the Confirm ended, still alive and not
// replaced; an acceptance left without one is a violation named by why.
func (r *faultRun) checkAcceptances(v *violations, h userHistory) {
	accepts := slices.Clone(h.accepts)
	slices.SortFunc(accepts, func(a, b *faultOp) int { return int(a.end - b.end) })
	matched := map[*faultOp]bool{}
	for _, a := range accepts {
		var cands []*faultOp
		for _, s := range h.sends {
			if s.code == a.code && s.start < a.end {
				cands = append(cands, s)
			}
		}
		found, why := r.matchSending(a, cands, h.sends, matched)
		switch {
		case found != nil:
			matched[found] = true
		case len(cands) == 0 && a.kind == kindWrong:
			v.add("wrong code accepted", "%s for %s", a, h.name)
		case len(cands) == 0:
			v.add("code never sent accepted", "%s for %s", a, h.name)
		default:
			v.add("dead code accepted", "%s for %s: the code was %s", a, h.name, strings.Join(why, "; "))
		}
	}
}

// matchSending returns the first of cands (sendings of the code accepted by
// a) that was not matched already, had not expired and was not replaced by
// a later sending that ended before a began; or nil, and why each
// candidate failed.
func (r *faultRun) matchSending(a *faultOp, cands, sends []*faultOp, matched map[*faultOp]bool) (*faultOp, []string) {
	p := r.engine.Policy()
	var why []string
	for _, s := range cands {
		switch by := replacedBy(s, a, sends); {
		case matched[s]:
			why = append(why, fmt.Sprintf("already accepted (sent by %s)", s))
		case !a.at.Before(s.at.Add(p.CodeLifetime)):
			why = append(why, fmt.Sprintf("expired (sent by %s)", s))
		case by != nil:
			why = append(why, fmt.Sprintf("replaced (sent by %s, then %s)", s, by))
		default:
			return s, why
		}
	}
	return nil, why
}

// replacedBy returns a sending other than s that began after s ended and
// ended before a began, or nil.
func replacedBy(s, a *faultOp, sends []*faultOp) *faultOp {
	for _, s2 := range sends {
		if s2 != s && s2.start > s.end && s2.end < a.start {
			return s2
		}
	}
	return nil
}
