package main

import (
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 18534647: "18,534,647", -1234: "-1,234"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	if got := metric(2.99); got != "2.99" {
		t.Errorf("metric(2.99) = %q", got)
	}
	if got := pct(1, 0); got != "–" {
		t.Errorf("pct of nothing: %q", got)
	}
}

func TestRenderBurstLostMail(t *testing.T) {
	runs := []runsummary.Run{
		{Store: "redis", Queue: "async", N: 10000, C: 32, Mail: &runsummary.Mail{Answered: 10000, Delivered: 8864, LastAfterMillis: 60000}},
		{Store: "postgres", Queue: "auto", N: 10000, C: 32, Error: "3 operations failed"},
	}
	got := renderBurst(runs)
	for _, want := range []string{
		"| Redis | asyncsender | 0 | **8,864** | (1,136 never sent) | – |",
		"| Postgres | River | 0 | – | – | – |",
		"Postgres River: the run failed: 3 operations failed",
		"10,000 ForgotPassword requests at concurrency 32, each for a different existing user",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// Redis before Postgres, whatever the order of the files.
	if strings.Index(got, "| Redis") > strings.Index(got, "| Postgres") {
		t.Errorf("order:\n%s", got)
	}
}

func TestRenderMachineQuick(t *testing.T) {
	got := renderMachine(machine{"cores": "2", "cpu": "X", "date": "2026-11-29", "quick": "yes"})
	if !strings.Contains(got, "Machine: 2 cores, X, measured 2026-11-29.") || !strings.Contains(got, "Quick mode") {
		t.Errorf("machine: %s", got)
	}
}

// The sample is a -json output of a request-path run (named so that TestRun's
// path-*.json does not pick it up).
func TestRenderPath(t *testing.T) {
	r, err := parseLoadRun(readSample(t, "loadtest-path-postgres-auto.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := renderPath([]runsummary.Run{r})
	for _, want := range []string{
		"| Postgres | River | 1 | 245 | 41 (17%) | 45 (18%) |",
		"| Postgres | River | 8 | 622 | 111 (18%) | 96 (15%) |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "Errors") {
		t.Errorf("errors noted where there were none:\n%s", got)
	}
}
