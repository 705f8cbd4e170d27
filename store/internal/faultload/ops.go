package faultload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
)

// faultUser is one user of a phase.
type faultUser struct {
	name, sub, initial string
}

// faultOp is one engine call and what it answered.
type faultOp struct {
	kind       opKind
	user       int
	code       string // submitted, or (Recover) sent
	password   string
	at         time.Time // the injected time of the call
	start, end int64     // order in real time
	err        error
	panicked   any
}

// isRecover: the call is a Recover; weak: a Confirm with a weak password.
func (op *faultOp) isRecover() bool { return op.kind == kindRecover }
func (op *faultOp) weak() bool      { return op.kind == kindWeak }

// outcome names the answer: "OK", the Cognito exception name, or what
// else came back.
func (op *faultOp) outcome() string {
	var re *recovery.Error
	switch {
	case op.panicked != nil:
		return "panic"
	case op.err == nil:
		return "OK"
	case errors.As(op.err, &re):
		return string(re.Name)
	}
	return fmt.Sprintf("%T", op.err)
}

// internal: the call failed with InternalErrorException.
func (op *faultOp) internal() bool { return errors.Is(op.err, recovery.ErrInternal) }

// issued: the call certainly charged an issue; missed: a failed check.
func (op *faultOp) issued() bool { return op.panicked == nil && op.isRecover() && op.err == nil }
func (op *faultOp) missed() bool {
	return op.panicked == nil && errors.Is(op.err, recovery.ErrCodeMismatch)
}

// gated: the answer shows the call passed the lock and the budget.
func (op *faultOp) gated() bool {
	return op.panicked == nil && (op.err == nil || errors.Is(op.err, recovery.ErrCodeMismatch) ||
		errors.Is(op.err, recovery.ErrExpiredCode) || errors.Is(op.err, recovery.ErrInvalidPassword))
}

// String describes the call in failure messages: kind, real-time order,
// injected time and outcome.
func (op *faultOp) String() string {
	return fmt.Sprintf("%s #%d..%d at %s -> %s", op.kind, op.start, op.end, rel(op.at), op.outcome())
}

// opKey carries the running operation to the sender, which records the
// code a Recover sent.
type opKey struct{}

// faultSender delivers through a capturesender.Sender, and notes in the
// running operation the code its Recover sent.
type faultSender struct{ capture *capturesender.Sender }

// Send captures m, whatever the request's deadline.
func (s faultSender) Send(ctx context.Context, m recovery.Message) error {
	// A Confirm's password-changed notice carries no code, and must not
	// overwrite the code that Confirm submitted.
	if op, ok := ctx.Value(opKey{}).(*faultOp); ok && m.Kind == recovery.DeliveryCode {
		op.code = m.Code // same goroutine: the engine sends synchronously
	}
	// Never fail for the request's deadline: a code the store issued is
	// then always known.
	return s.capture.Send(context.WithoutCancel(ctx), m)
}

// step claims the next operation, makes the scheduled fault happen, picks
// an operation and runs it.
func (r *faultRun) step(ctx context.Context, rng *rand.Rand) *faultOp {
	r.fault(r.next.Add(1) - 1)
	op := r.pick(rng)
	r.run(ctx, op)
	return op
}

// pick chooses a user and an operation by the phase's weights, with the
// code and password it submits.
func (r *faultRun) pick(rng *rand.Rand) *faultOp {
	u := rng.IntN(len(r.users))
	weights := r.ph.normal
	if r.ph.attacked != ([numKinds]int{}) {
		if rng.IntN(2) == 0 { // half of the operations go to the attacked users
			u = 5 * rng.IntN((len(r.users)+4)/5)
		}
		if u%5 == 0 {
			weights = r.ph.attacked
		}
	}
	sum := 0
	for _, w := range weights {
		sum += w
	}
	n, kind := rng.IntN(sum), kindRecover
	for k, w := range weights {
		if n < w {
			kind = opKind(k)
			break
		}
		n -= w
	}
	op := &faultOp{kind: kind, user: u}
	if kind == kindRecover {
		return op
	}
	op.password = fmt.Sprintf("Fault-%s-%d!pw", r.ph.name, r.pwSeq.Add(1))
	switch kind {
	case kindLatest, kindWeak:
		code, ok := r.capture.LastCode(r.users[u].name)
		if !ok {
			op.kind = kindWrong
			break
		}
		op.code = code
		if kind == kindWeak {
			op.password = "weak"
		}
	case kindOld:
		r.mu.Lock()
		sent := r.sent[u]
		if len(sent) > 0 {
			op.code = sent[rng.IntN(len(sent))]
		}
		r.mu.Unlock()
		if op.code == "" {
			op.kind = kindWrong
		}
	}
	if op.kind == kindWrong {
		op.code = r.wrongCode(u, rng)
	}
	return op
}

// wrongCode returns a code of the policy's length never sent to user u.
func (r *faultRun) wrongCode(u int, rng *rand.Rand) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		b := make([]byte, r.engine.Policy().CodeDigits)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		if !slices.Contains(r.sent[u], string(b)) {
			return string(b)
		}
	}
}

// run calls the engine for op and records what it answered, and when.
func (r *faultRun) run(ctx context.Context, op *faultOp) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, opKey{}, op)
	user := r.users[op.user]
	op.at = r.now()
	op.start = r.seq.Add(1)
	func() {
		defer func() { op.panicked = recover() }()
		if op.isRecover() {
			_, op.err = r.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "faults", Username: user.name})
			return
		}
		op.err = r.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "faults", Username: user.name,
			ConfirmationCode: op.code, Password: op.password})
	}()
	op.end = r.seq.Add(1)
	if op.isRecover() && op.err == nil && op.code != "" {
		r.mu.Lock()
		r.sent[op.user] = append(r.sent[op.user], op.code)
		r.mu.Unlock()
	}
}
