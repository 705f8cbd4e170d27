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
	users.CreateUser(ctx, "default", recovery.User{Username: "alice", Enabled: true,
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"}}, "")
	sender := capturesender.New()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web"}},
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
	// The budget holds 5 events: 1 request and 1 failure so far, so 3 more
	// requests pass and 2 are refused.
	for range 5 {
		e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	}

	ended := spans.Ended()
	if len(ended) != 8 {
		t.Fatalf("%d spans, want 8", len(ended))
	}
	var got []string
	for _, s := range ended {
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		var events []string
		for _, ev := range s.Events() {
			events = append(events, ev.Name)
		}
		got = append(got, fmt.Sprintf("%s %s %s [%s]", s.Name(), attrs["recovery.client_id"], attrs["recovery.outcome"], strings.Join(events, ",")))
	}
	want := []string{
		"recovery.ForgotPassword web ok [requested,delivered]",
		"recovery.ConfirmForgotPassword web CodeMismatchException [rejected]",
		"recovery.ConfirmForgotPassword web ok [confirmed]",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("span %d: %q, want %q", i, got[i], w)
		}
	}
	if got[7] != "recovery.ForgotPassword web LimitExceededException [rate_limited]" {
		t.Errorf("last span %q", got[7])
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
					key += " " + string(kv.Key) + "=" + kv.Value.Emit()
				}
				sums[key] += dp.Value
				everything.WriteString(key + "\n")
			}
		}
	}
	for key, want := range map[string]int64{
		"recovery.requests recovery.client_id=web recovery.operation=ForgotPassword":                        6,
		"recovery.requests recovery.client_id=web recovery.operation=ConfirmForgotPassword":                 2,
		"recovery.outcomes recovery.operation=ForgotPassword recovery.outcome=ok":                           4,
		"recovery.outcomes recovery.operation=ForgotPassword recovery.outcome=LimitExceededException":       2,
		"recovery.outcomes recovery.operation=ConfirmForgotPassword recovery.outcome=CodeMismatchException": 1,
		"recovery.deliveries recovery.medium=EMAIL recovery.result=delivered":                               4,
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
