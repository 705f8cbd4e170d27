package otelhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks/otelhooks"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func TestSpansAndCounters(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inst, err := otelhooks.New(otelhooks.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, "default", recovery.User{Username: "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"}}, "")
	sender := capturesender.New()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}}, // errors and delivery during the request
		Keys:    []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}},
		Hasher:  recoverytest.InsecureHasher{},
		Hooks:   recovery.Hooks{Observer: inst},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	const password = "N3w-password!"
	e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := sender.LastCode("alice")
	e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: "000000", Password: password})
	e.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: password})
	// The budget holds 5 requests: 1 so far, so 4 more pass and 2 are
	// refused.
	for range 6 {
		e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	}

	ended := spans.Ended()
	if len(ended) != 9 {
		t.Fatalf("%d spans, want 9", len(ended))
	}
	var got []string
	for _, s := range ended {
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		var events []string
		for _, ev := range s.Events() {
			events = append(events, ev.Name)
		}
		got = append(got, fmt.Sprintf("%s %s %s [%s]", s.Name(), attrs["recovery.client_id"], attrs["recovery.outcome"], strings.Join(events, ",")))
	}
	want := []string{
		"recovery.ForgotPassword web ok [delivered,requested]",
		"recovery.ConfirmForgotPassword web CodeMismatchException [rejected]",
		"recovery.ConfirmForgotPassword web ok [confirmed]",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("span %d: %q, want %q", i, got[i], w)
		}
	}
	if got[8] != "recovery.ForgotPassword web LimitExceededException [rate_limited]" {
		t.Errorf("last span %q", got[8])
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var everything strings.Builder
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				key := m.Name
				for _, kv := range dp.Attributes.ToSlice() {
					key += " " + string(kv.Key) + "=" + kv.Value.String()
				}
				sums[key] += dp.Value
				everything.WriteString(key + "\n")
			}
		}
	}
	for key, want := range map[string]int64{
		"recovery.requests recovery.client_id=web recovery.operation=ForgotPassword":                        7,
		"recovery.requests recovery.client_id=web recovery.operation=ConfirmForgotPassword":                 2,
		"recovery.outcomes recovery.operation=ForgotPassword recovery.outcome=ok":                           5,
		"recovery.outcomes recovery.operation=ForgotPassword recovery.outcome=LimitExceededException":       2,
		"recovery.outcomes recovery.operation=ConfirmForgotPassword recovery.outcome=CodeMismatchException": 1,
		"recovery.deliveries recovery.medium=EMAIL recovery.result=delivered":                               5,
		"recovery.rate_limited recovery.operation=ForgotPassword recovery.reason=LimitExceededException":    2,
	} {
		if sums[key] != want {
			t.Errorf("%s = %d, want %d\nall points:\n%s", key, sums[key], want, everything.String())
		}
	}

	// No secret value anywhere in spans or metrics.
	var dump strings.Builder
	dump.WriteString(everything.String())
	for _, s := range ended {
		fmt.Fprintf(&dump, "%v %v\n", s.Attributes(), s.Events())
	}
	for _, secret := range []string{code, password, "alice@example.com", "alice"} {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("telemetry contains %q", secret)
		}
	}
}

// series counts the data points (one per distinct attribute set) of every
// metric.
func series(t *testing.T, reader *sdkmetric.ManualReader) (int, string) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	n := 0
	var all strings.Builder
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				n++
				all.WriteString(m.Name)
				for _, kv := range dp.Attributes.ToSlice() {
					all.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
				}
				all.WriteString("\n")
			}
		}
	}
	return n, all.String()
}

// TestMadeUpClientIDsMakeNoSeries: 1,000 requests with made-up client IDs,
// some of them 1 MiB long, add a handful of series at most.
func TestMadeUpClientIDsMakeNoSeries(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	inst, err := otelhooks.New(otelhooks.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatal(err)
	}
	e, err := recovery.New(recovery.Config{
		Users: memstore.NewUserStore(), Codes: memstore.NewCodeStore(), Sender: capturesender.New(),
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}},
		Hooks:   recovery.Hooks{Observer: inst},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", 1<<20)
	for i := range 1000 {
		id := fmt.Sprintf("client%d", i)
		if i%100 == 0 {
			id = huge[:len(huge)-i]
		}
		e.Recover(context.Background(), recovery.RecoverRequest{ClientID: id, Username: "alice"})
	}
	if n, all := series(t, reader); n > 4 {
		t.Fatalf("%d series after 1,000 made-up client IDs, want at most 4:\n%s", n, all)
	}

	// Called directly with an allow-list, anything else is "other".
	reader2 := sdkmetric.NewManualReader()
	direct, _ := otelhooks.New(otelhooks.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader2)), ClientIDs: []string{"web"}})
	for i := range 1000 {
		_, end := direct.TraceOperation(context.Background(), recovery.OpForgotPassword, fmt.Sprintf("made-up-%d", i))
		end(fmt.Sprintf("MadeUpException%d", i))
		direct.Observe(context.Background(), recovery.Event{Kind: recovery.EventRateLimited, Operation: recovery.OpForgotPassword, Reason: recovery.ErrorCode(fmt.Sprintf("R%d", i)), Medium: recovery.DeliveryMedium(fmt.Sprint(i))})
	}
	if n, all := series(t, reader2); n > 3 {
		t.Fatalf("%d series after 1,000 made-up values, want 3:\n%s", n, all)
	}
}
