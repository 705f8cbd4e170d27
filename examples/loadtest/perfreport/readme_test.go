package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeMarkers guards the module's README: report.sh rewrites it
// between these markers, so an edit that drops, doubles or unbalances one
// must fail here rather than in a 20-minute report.
func TestReadmeMarkers(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMarkers(string(b), sectionNames()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckMarkers(t *testing.T) {
	names := []string{"a", "b"}
	ok := "x\n<!-- perf:a -->\nt\n<!-- /perf:a -->\n<!-- perf:b -->\n<!-- /perf:b -->\n"
	if err := checkMarkers(ok, names); err != nil {
		t.Fatalf("well-formed: %v", err)
	}
	for name, doc := range map[string]string{
		"missing":  "<!-- perf:a -->\n<!-- /perf:a -->\n",
		"twice":    ok + "<!-- perf:a -->\n<!-- /perf:a -->\n",
		"unclosed": "<!-- perf:a -->\n<!-- /perf:a -->\n<!-- perf:b -->\n",
		"nested":   "<!-- perf:a -->\n<!-- perf:b -->\n<!-- /perf:b -->\n<!-- /perf:a -->\n",
		"crossed":  "<!-- perf:a -->\n<!-- /perf:b -->\n<!-- perf:b -->\n<!-- /perf:a -->\n",
		"unknown":  ok + "<!-- perf:c -->\n<!-- /perf:c -->\n",
		"inline":   "<!-- perf:a --> text\n<!-- /perf:a -->\n<!-- perf:b -->\n<!-- /perf:b -->\n",
		"typo":     ok + "<!--perf:a-->\n",
		"reversed": "<!-- /perf:a -->\n<!-- perf:a -->\n<!-- perf:b -->\n<!-- /perf:b -->\n",
	} {
		if err := checkMarkers(doc, names); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "head\n<!-- perf:a -->\nold\n\n<!-- /perf:a -->\ntail\n"
	got := replaceSection(doc, "a", "new\n")
	want := "head\n<!-- perf:a -->\nnew\n\n<!-- /perf:a -->\ntail\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if again := replaceSection(got, "a", "new"); again != got {
		t.Errorf("not idempotent: %q", again)
	}
}

// TestRun rewrites a copy of the README from the captured samples: the
// sections with inputs change, the others (path has no sample) and the
// text outside the markers stay, and a second run changes nothing.
func TestRun(t *testing.T) {
	orig, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(readme, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run("testdata", readme, false, &out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(readme)
	doc := string(b)
	if err := checkMarkers(doc, sectionNames()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Machine: 2 cores, AMD EPYC, 23 GiB", "| Recover, request path alone (the outbox drops the delivery) | 6,352 | – | 9 | 1 |",
		"| code store Issue | 10,279,886 / 1,171,794 | 21 | 1 | 163 (111%) | 1,809 (193%) | 147 | 939 |",
		"| pool, MaxConnections default | 16 | 2,175 | 4,794 | 45% |", "| Postgres | River | 127 | 100 | 0.1 s | 3,000 µs |",
		"## Tests", // after the section
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the README lacks %q", want)
		}
	}
	pathOf := func(doc string) string {
		return doc[strings.Index(doc, openMarker("path")):strings.Index(doc, closeMarker("path"))]
	}
	if pathOf(doc) != pathOf(string(orig)) {
		t.Error("the path section, which has no input, changed")
	}
	if !strings.Contains(out.String(), "kept path (no usable input in testdata)") {
		t.Errorf("summary: %s", out.String())
	}
	if err := run("testdata", readme, false, &out); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(readme); string(b2) != doc {
		t.Error("a second run changed the README")
	}
	if err := run("testdata", readme, true, &out); err != nil {
		t.Fatal(err)
	}
}

// TestRunKeepsFailedSection: a compare.sh output with a failed benchmark
// leaves the Postgres table as it was, the others are written, and the
// run reports the failure.
func TestRunKeepsFailedSection(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"machine.txt", "pgx.txt", "memory.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), readSample(t, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "compare.txt"), readSample(t, "compare-failed.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(dir, readme, false, &out)
	if err == nil || !strings.Contains(err.Error(), "postgres:") {
		t.Fatalf("error: %v", err)
	}
	b, _ := os.ReadFile(readme)
	section := func(doc, name string) string {
		return doc[strings.Index(doc, openMarker(name)):strings.Index(doc, closeMarker(name))]
	}
	if section(string(b), "postgres") != section(string(orig), "postgres") {
		t.Error("the Postgres table changed")
	}
	if !strings.Contains(section(string(b), "engine"), "| 6,352 |") {
		t.Error("the engine table was not written")
	}
}
