// Package otelhooks reports the recovery engine to OpenTelemetry: a span per
// Recover and Confirm with the outcome as an attribute, and counters for
// requests, outcomes, deliveries and rate-limit hits. It lives apart from the
// core so that package recovery does not depend on OpenTelemetry.
//
//	inst, err := otelhooks.New(otelhooks.Config{}) // global providers
//	cfg.Hooks.Observer = inst                     // or hooks.Observers(inst, ...)
//
// Nothing it records carries a code, a password, a secret or a username,
// and every metric attribute takes its values from a bounded set: the
// configured client IDs (the engine names no other; Config.ClientIDs can
// narrow them further), outcome and reason names the engine defines, and
// the two media. Anything else is recorded as "other", so made-up values
// in requests cannot multiply the series a metrics backend keeps.
package otelhooks

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/recoverykit/recoverykit/recovery"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/recoverykit/recoverykit/hooks/otelhooks"

// Attribute keys.
const (
	AttrOperation = attribute.Key("recovery.operation")
	AttrClientID  = attribute.Key("recovery.client_id")
	AttrPool      = attribute.Key("recovery.pool")
	AttrOutcome   = attribute.Key("recovery.outcome")
	AttrMedium    = attribute.Key("recovery.medium")
	AttrReason    = attribute.Key("recovery.reason")
	AttrResult    = attribute.Key("recovery.result")
)

// Metric names.
const (
	MetricRequests    = "recovery.requests"
	MetricOutcomes    = "recovery.outcomes"
	MetricDeliveries  = "recovery.deliveries"
	MetricRateLimited = "recovery.rate_limited"
)

// Config picks the providers. Zero values mean the global ones
// (otel.GetTracerProvider, otel.GetMeterProvider).
type Config struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// ClientIDs, when set, are the client IDs recorded as they are; any
	// other is recorded as "other". Default: every ID the engine reports,
	// which is one of its configured clients, or "unknown" for a request
	// that named none.
	ClientIDs []string
}

// Other is the value recorded for an attribute value outside its set.
const Other = "other"

// outcome is "ok", a name the engine defines, or Other.
func outcome(v string) string {
	if v == "ok" || recovery.ErrorCode(v).Known() {
		return v
	}
	return Other
}

// medium is EMAIL, SMS or Other.
func medium(m recovery.DeliveryMedium) string {
	if m == recovery.Email || m == recovery.SMS {
		return string(m)
	}
	return Other
}

// Instrumentation is a recovery.Observer that also traces operations
// (recovery.OperationTracer). Set it as Hooks.Observer.
type Instrumentation struct {
	clients     map[string]bool // nil: as the engine reports them
	tracer      trace.Tracer
	requests    metric.Int64Counter
	outcomes    metric.Int64Counter
	deliveries  metric.Int64Counter
	rateLimited metric.Int64Counter
}

var (
	_ recovery.Observer        = (*Instrumentation)(nil)
	_ recovery.OperationTracer = (*Instrumentation)(nil)
)

// New creates the tracer and the counters.
func New(cfg Config) (*Instrumentation, error) {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	i := &Instrumentation{tracer: tp.Tracer(ScopeName)}
	if len(cfg.ClientIDs) > 0 {
		i.clients = map[string]bool{}
		for _, id := range cfg.ClientIDs {
			i.clients[id] = true
		}
	}
	var err error
	for _, c := range []struct {
		dst        *metric.Int64Counter
		name, desc string
	}{
		{&i.requests, MetricRequests, "Recovery requests received, by operation and client."},
		{&i.outcomes, MetricOutcomes, "Recovery requests finished, by operation and outcome (ok or the Cognito error name)."},
		{&i.deliveries, MetricDeliveries, "Code deliveries, by medium and result (delivered, failed or expired)."},
		{&i.rateLimited, MetricRateLimited, "Requests refused by a limit, by operation and reason."},
	} {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithDescription(c.desc), metric.WithUnit("{request}")); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// client is the client ID as recorded.
func (i *Instrumentation) client(id string) string {
	switch {
	case id == "":
		return "unknown"
	case i.clients != nil && !i.clients[id], len(id) > 128:
		return Other
	}
	return id
}

// operation is the operation's name, or Other.
func operation(op recovery.Operation) string {
	switch op {
	case recovery.OpForgotPassword, recovery.OpConfirmForgotPassword, recovery.OpAdminResetUserPassword:
		return string(op)
	}
	return Other
}

// TraceOperation starts the span of one request and counts it.
func (i *Instrumentation) TraceOperation(ctx context.Context, op recovery.Operation, clientID string) (context.Context, func(string)) {
	opName := operation(op)
	attrs := []attribute.KeyValue{AttrOperation.String(opName), AttrClientID.String(i.client(clientID))}
	ctx, span := i.tracer.Start(ctx, "recovery."+opName, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	i.requests.Add(ctx, 1, metric.WithAttributes(attrs...))
	return ctx, func(result string) {
		result = outcome(result)
		span.SetAttributes(AttrOutcome.String(result))
		if result == string(recovery.InternalErrorException) {
			span.SetStatus(codes.Error, result)
		}
		i.outcomes.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(opName), AttrOutcome.String(result)))
		span.End()
	}
}

// Observe adds the event to the request's span and counts deliveries and
// rate-limit hits.
func (i *Instrumentation) Observe(ctx context.Context, e recovery.Event) {
	attrs := []attribute.KeyValue{AttrPool.String(e.PoolID)}
	if e.Medium != "" {
		attrs = append(attrs, AttrMedium.String(medium(e.Medium)))
	}
	if e.Reason != "" {
		attrs = append(attrs, AttrReason.String(outcome(string(e.Reason))))
	}
	trace.SpanFromContext(ctx).AddEvent(string(e.Kind), trace.WithAttributes(attrs...))
	switch e.Kind {
	case recovery.EventDelivered:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(medium(e.Medium)), AttrResult.String("delivered")))
	case recovery.EventDeliveryFailed:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(medium(e.Medium)), AttrResult.String("failed")))
	case recovery.EventDeliveryExpired:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(medium(e.Medium)), AttrResult.String("expired")))
	case recovery.EventDeliverySuperseded:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(medium(e.Medium)), AttrResult.String("superseded")))
	case recovery.EventRateLimited:
		i.rateLimited.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(operation(e.Operation)), AttrReason.String(outcome(string(e.Reason)))))
	}
}
