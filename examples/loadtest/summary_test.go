package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

// keyPaths lists the object keys of a JSON document as dotted paths;
// array elements, and the entries of the maps "ops" and "errors" (whose
// keys are data, not field names), are "*".
func keyPaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		isMap := strings.HasSuffix(prefix, "ops.") || strings.HasSuffix(prefix, "errors.")
		for k, e := range v {
			if isMap {
				k = "*"
			}
			out[prefix+k] = true
			keyPaths(prefix+k+".", e, out)
		}
	case []any:
		for _, e := range v {
			keyPaths(prefix+"*.", e, out)
		}
	}
}

func jsonKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	keyPaths("", v, keys)
	return keys
}

// TestSummaryMatchesSamples keeps perfreport's samples (captured -json
// outputs) in step with what -json writes: every key of a sample is one a
// full summary has, so a renamed field fails here.
func TestSummaryMatchesSamples(t *testing.T) {
	full := runsummary.Run{
		Store: "redis", Queue: "async", N: 1, C: 1,
		Ops:                       map[string]runsummary.Op{"ForgotPassword": {OK: 1, OpsPerSec: 1, Errors: map[string]int{"X": 1}}},
		Mail:                      &runsummary.Mail{Answered: 1, Delivered: 1, LastAfterMillis: 1},
		ServerCPUPerRequestMicros: 1,
		Floor:                     []runsummary.FloorRow{{C: 1, FloorOpsPerSec: 1, Errors: map[string]int{"X": 1}}},
		Error:                     "x",
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if err := writeSummary(&full, path); err != nil {
		t.Fatal(err)
	}
	have := jsonKeys(t, path)
	samples, _ := filepath.Glob("perfreport/testdata/*.json")
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		for k := range jsonKeys(t, s) {
			if !have[k] {
				t.Errorf("%s: key %q is not one -json writes", s, k)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	r := &results{elapsed: 2 * time.Second, ops: map[string]*opStats{
		"ForgotPassword":        {latencies: []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}, errors: map[string]int{}},
		"ConfirmForgotPassword": {errors: map[string]int{}},
	}}
	r.record("ForgotPassword", 0, errors.New("boom"))
	m := r.summarize()
	fp, ok := m["ForgotPassword"]
	if !ok || fp.OK != 4 || fp.OpsPerSec != 2 || fp.P50Millis != 3 || fp.P99Millis != 4 || fp.Errors["boom"] != 1 {
		t.Errorf("ForgotPassword: %+v", fp)
	}
	if _, ok := m["ConfirmForgotPassword"]; ok {
		t.Error("an operation that never ran is in the summary")
	}
}
