// Package otelhooks reports the recovery engine to OpenTelemetry: a span per
// Recover and Confirm with the outcome as an attribute, and counters for
// requests, outcomes, deliveries and rate-limit hits. It lives apart from the
// core so that package recovery does not depend on OpenTelemetry.
//
//	inst, err := otelhooks.New(otelhooks.Config{}) // global providers
//	cfg.Hooks.Observer = inst                     // or hooks.Observers(inst, ...)
//
// Nothing it records carries a code, a password, a secret or a username.
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
}

// Instrumentation is a recovery.Observer that also traces operations
// (recovery.OperationTracer). Set it as Hooks.Observer.
type Instrumentation struct {
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
	var err error
	for _, c := range []struct {
		dst        *metric.Int64Counter
		name, desc string
	}{
		{&i.requests, MetricRequests, "Recovery requests received, by operation and client."},
		{&i.outcomes, MetricOutcomes, "Recovery requests finished, by operation and outcome (ok or the Cognito error name)."},
		{&i.deliveries, MetricDeliveries, "Code deliveries, by medium and result (delivered or failed)."},
		{&i.rateLimited, MetricRateLimited, "Requests refused by a limit, by operation and reason."},
	} {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithDescription(c.desc), metric.WithUnit("{request}")); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// TraceOperation starts the span of one request and counts it.
func (i *Instrumentation) TraceOperation(ctx context.Context, op recovery.Operation, clientID string) (context.Context, func(string)) {
	attrs := []attribute.KeyValue{AttrOperation.String(string(op)), AttrClientID.String(clientID)}
	ctx, span := i.tracer.Start(ctx, "recovery."+string(op), trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	i.requests.Add(ctx, 1, metric.WithAttributes(attrs...))
	return ctx, func(outcome string) {
		span.SetAttributes(AttrOutcome.String(outcome))
		if outcome == "InternalErrorException" {
			span.SetStatus(codes.Error, outcome)
		}
		i.outcomes.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(string(op)), AttrOutcome.String(outcome)))
		span.End()
	}
}

// Observe adds the event to the request's span and counts deliveries and
// rate-limit hits.
func (i *Instrumentation) Observe(ctx context.Context, e recovery.Event) {
	attrs := []attribute.KeyValue{AttrPool.String(e.PoolID)}
	if e.Medium != "" {
		attrs = append(attrs, AttrMedium.String(string(e.Medium)))
	}
	if e.Reason != "" {
		attrs = append(attrs, AttrReason.String(e.Reason))
	}
	trace.SpanFromContext(ctx).AddEvent(string(e.Kind), trace.WithAttributes(attrs...))
	switch e.Kind {
	case recovery.EventDelivered:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(string(e.Medium)), AttrResult.String("delivered")))
	case recovery.EventDeliveryFailed:
		i.deliveries.Add(ctx, 1, metric.WithAttributes(AttrMedium.String(string(e.Medium)), AttrResult.String("failed")))
	case recovery.EventRateLimited:
		i.rateLimited.Add(ctx, 1, metric.WithAttributes(AttrOperation.String(string(e.Operation)), AttrReason.String(e.Reason)))
	}
}
