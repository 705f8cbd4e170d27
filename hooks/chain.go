// Package hooks composes the engine's triggers and adds ready-made ones.
//
// The engine takes one hook of each kind (recovery.Hooks); the Chain
// functions here run several in order, so that, say, session revocation and
// an audit record can both follow a reset:
//
//	recovery.Hooks{
//		PostConfirm: hooks.ChainPostConfirm(revokeSessions, auditReset),
//		Observer:    hooks.Observers(hooks.LogEvents(logger), metrics),
//	}
//
// Plain functions become hooks through the adapters in package recovery
// (recovery.PostConfirmFunc and friends). Subpackages call hooks over HTTP
// (httptrigger) and report to OpenTelemetry (otelhooks).
package hooks

import (
	"context"
	"log/slog"

	"github.com/recoverykit/recoverykit/recovery"
)

// ChainCustomMessage runs each hook in order. A later hook's non-empty
// fields override an earlier one's; the first error stops the chain.
func ChainCustomMessage(hs ...recovery.CustomMessageHook) recovery.CustomMessageHook {
	return recovery.CustomMessageFunc(func(ctx context.Context, e recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
		var out recovery.CustomMessage
		for _, h := range hs {
			m, err := h.CustomMessage(ctx, e)
			if err != nil {
				return recovery.CustomMessage{}, err
			}
			if m.SMSMessage != "" {
				out.SMSMessage = m.SMSMessage
			}
			if m.EmailMessage != "" {
				out.EmailMessage = m.EmailMessage
			}
			if m.EmailSubject != "" {
				out.EmailSubject = m.EmailSubject
			}
		}
		return out, nil
	})
}

// ChainUserMigration asks each hook in order; the first to return a user
// wins. The first error stops the chain.
func ChainUserMigration(hs ...recovery.UserMigrationHook) recovery.UserMigrationHook {
	return recovery.UserMigrationFunc(func(ctx context.Context, e recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
		for _, h := range hs {
			u, err := h.MigrateUser(ctx, e)
			if err != nil || u != nil {
				return u, err
			}
		}
		return nil, nil
	})
}

// ChainRiskCheck runs each check in order; the first refusal or error
// stops the chain and is the answer.
func ChainRiskCheck(hs ...recovery.RiskCheckHook) recovery.RiskCheckHook {
	return recovery.RiskCheckFunc(func(ctx context.Context, e recovery.RiskEvent) error {
		for _, h := range hs {
			if err := h.CheckRisk(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChainPostConfirm runs each hook in order; the first error stops the chain
// (put the hook that must not be skipped, such as revoking sessions, first).
func ChainPostConfirm(hs ...recovery.PostConfirmHook) recovery.PostConfirmHook {
	return recovery.PostConfirmFunc(func(ctx context.Context, e recovery.PostConfirmEvent) error {
		for _, h := range hs {
			if err := h.PostConfirm(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Observers sends each event to every observer, in order; one observer's
// panic does not keep the event from the others. If any observer also
// traces operations (recovery.OperationTracer), the result does too, and
// nests their traces in order.
func Observers(os ...recovery.Observer) recovery.Observer {
	return observers(os)
}

type observers []recovery.Observer

func (os observers) Observe(ctx context.Context, e recovery.Event) {
	for _, o := range os {
		func() {
			defer func() { recover() }() // contained here so the rest still see the event
			o.Observe(ctx, e)
		}()
	}
}

// TraceOperation starts the trace of every observer that traces, and ends
// them in reverse order.
func (os observers) TraceOperation(ctx context.Context, op recovery.Operation, clientID string) (context.Context, func(string)) {
	var ends []func(string)
	for _, o := range os {
		if t, ok := o.(recovery.OperationTracer); ok {
			var end func(string)
			ctx, end = t.TraceOperation(ctx, op, clientID)
			ends = append(ends, end)
		}
	}
	return ctx, func(outcome string) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](outcome)
		}
	}
}

// LogEvents returns an Observer that writes each event to logger at Info
// (rejections and rate limits at Warn), as one structured record. Events
// carry no codes, passwords or secrets, so neither does the log.
func LogEvents(logger *slog.Logger) recovery.Observer {
	return recovery.ObserverFunc(func(ctx context.Context, e recovery.Event) {
		level := slog.LevelInfo
		if e.Kind == recovery.EventRejected || e.Kind == recovery.EventRateLimited || e.Kind == recovery.EventDeliveryFailed {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("event", string(e.Kind)),
			slog.String("op", string(e.Operation)),
			slog.String("pool", e.PoolID),
			slog.String("client_id", e.ClientID),
			slog.Duration("duration", e.Duration),
		}
		if e.Sub != "" {
			attrs = append(attrs, slog.String("sub", e.Sub))
		}
		if e.Medium != "" {
			attrs = append(attrs, slog.String("medium", string(e.Medium)))
		}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", string(e.Reason)))
		}
		if e.AnalyticsEndpointID != "" {
			attrs = append(attrs, slog.String("analytics_endpoint_id", e.AnalyticsEndpointID))
		}
		logger.LogAttrs(ctx, level, "recovery event", attrs...)
	})
}
