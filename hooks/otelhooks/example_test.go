package otelhooks_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks/otelhooks"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// One reset, traced and counted. The providers here keep spans and metrics
// in memory so the example can print them; in production pass your
// exporters' providers, or leave Config empty for the global ones.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inst, err := otelhooks.New(otelhooks.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	mail := capturesender.New() // smtpsender.New(...) in production
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: mail,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("example-key-32-bytes-long-at-least!")}},
		Hooks:   recovery.Hooks{Observer: inst}, // or hooks.Observers(inst, ...)
	})
	if err != nil {
		log.Fatal(err)
	}

	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	code, err := mail.AwaitCode(waitCtx, "alice") // delivered off the request path
	if err != nil {
		log.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: wrong, Password: "N3w-password!"})
	engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	// Close drains the outbox, so the delivery has been counted too.
	if err := engine.Close(waitCtx); err != nil {
		log.Fatal(err)
	}

	for _, s := range spans.Ended() {
		outcome := ""
		for _, a := range s.Attributes() {
			if a.Key == otelhooks.AttrOutcome {
				outcome = a.Value.String()
			}
		}
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		fmt.Println("span:", s.Name(), outcome, events)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var points []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				point := m.Name
				for _, kv := range dp.Attributes.ToSlice() {
					point += " " + string(kv.Key) + "=" + kv.Value.String()
				}
				points = append(points, fmt.Sprintf("%s: %d", point, dp.Value))
			}
		}
	}
	slices.Sort(points)
	for _, p := range points {
		fmt.Println("metric:", p)
	}
	// Output:
	// span: recovery.ForgotPassword ok [requested]
	// span: recovery.ConfirmForgotPassword CodeMismatchException [rejected]
	// span: recovery.ConfirmForgotPassword ok [confirmed]
	// metric: recovery.deliveries recovery.medium=EMAIL recovery.result=delivered: 1
	// metric: recovery.outcomes recovery.operation=ConfirmForgotPassword recovery.outcome=CodeMismatchException: 1
	// metric: recovery.outcomes recovery.operation=ConfirmForgotPassword recovery.outcome=ok: 1
	// metric: recovery.outcomes recovery.operation=ForgotPassword recovery.outcome=ok: 1
	// metric: recovery.requests recovery.client_id=web recovery.operation=ConfirmForgotPassword: 2
	// metric: recovery.requests recovery.client_id=web recovery.operation=ForgotPassword: 1
}
