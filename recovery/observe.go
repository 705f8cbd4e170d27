package recovery

import (
	"context"
	"errors"
	"log/slog"
)

// observe sends an event about the request to the Observer, containing its
// panics.
func (e *Engine) observe(ctx context.Context, c *call, kind EventKind, err error) {
	if e.hooks.Observer == nil {
		return
	}
	ev := Event{
		Kind: kind, Operation: c.op, PoolID: e.pool, ClientID: c.clientID,
		Sub: c.sub, Medium: c.medium, Err: err, Time: c.start, Duration: e.now().Sub(c.start),
	}
	if c.analytics != nil {
		ev.AnalyticsEndpointID = c.analytics.AnalyticsEndpointID
	}
	e.emit(ctx, ev)
}

// observeDelivery sends an event about a delivery, which may happen long
// after its request, in an outbox's worker. A notice reports
// EventNoticeDelivered or EventNoticeFailed, so that counts of codes stay
// counts of codes.
func (e *Engine) observeDelivery(ctx context.Context, d Delivery, kind EventKind, err error) {
	if e.hooks.Observer == nil {
		return
	}
	if d.Kind == DeliveryPasswordChanged {
		kind = noticeEvent(kind)
	}
	e.emit(ctx, Event{
		Kind: kind, Operation: d.operation(), PoolID: e.pool, ClientID: d.ClientID,
		Sub: d.Sub, Medium: d.Medium, Err: err, Time: d.IssuedAt, Duration: e.now().Sub(d.IssuedAt),
	})
}

func (e *Engine) emit(ctx context.Context, ev Event) {
	var ae *Error
	if errors.As(ev.Err, &ae) {
		ev.Reason = ae.Name
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
		if c.op == OpForgotPassword || c.op == OpAdminResetUserPassword {
			kind, msg = EventRequested, "recovery: code issued"
			if c.simulated != nil {
				kind, msg = EventSimulated, "recovery: simulated answer"
			}
		}
		e.logOutcome(ctx, c, slog.LevelDebug, msg, nil)
		e.observe(ctx, c, kind, nil)
		e.endTrace(ctx, c, "ok")
		return nil
	}
	var ae *Error
	if !errors.As(err, &ae) {
		ae = internalError(err)
	}
	level := slog.LevelDebug
	switch ae.Name {
	case InternalErrorException:
		level = slog.LevelError
	case UnexpectedLambdaException, InvalidLambdaResponseException, CodeDeliveryFailureException,
		InvalidSmsRoleAccessPolicyException, InvalidSmsRoleTrustRelationshipException, InvalidEmailRoleAccessPolicyException:
		level = slog.LevelWarn
	}
	e.logOutcome(ctx, c, level, "recovery: request failed", ae)
	kind := EventRejected
	if ae.Name.RateLimited() {
		kind = EventRateLimited
	}
	e.observe(ctx, c, kind, ae)
	e.endTrace(ctx, c, string(ae.Name))
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
	if c.simulated != nil {
		// For the operator: why nothing was sent (never shown to the caller).
		attrs = append(attrs, slog.String("reason", refusalReason(c.simulated)))
	}
	kind := ""
	if ae != nil {
		kind = string(ae.Name)
		attrs = append(attrs, slog.String("error", kind))
		if ae.cause != nil {
			attrs = append(attrs, slog.String("cause", ae.cause.Error()))
		}
	}
	e.logLimited(ctx, level, msg, kind, attrs...)
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
