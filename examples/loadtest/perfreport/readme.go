package main

import (
	"fmt"
	"regexp"
	"strings"
)

// The README's generated parts sit between <!-- perf:NAME --> and
// <!-- /perf:NAME -->, each on a line of its own.
func openMarker(name string) string  { return "<!-- perf:" + name + " -->" }
func closeMarker(name string) string { return "<!-- /perf:" + name + " -->" }

var anyMarker = regexp.MustCompile(`<!-- (/?)perf:([a-z0-9-]+) -->`)

// checkMarkers reports whether doc holds each of names exactly once as an
// open marker followed by its close marker, on lines of their own, with no
// marker between them and no marker of another name anywhere.
func checkMarkers(doc string, names []string) error {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	open := ""
	seen := map[string]int{}
	for i, line := range strings.Split(doc, "\n") {
		m := anyMarker.FindStringSubmatch(line)
		if m == nil {
			if strings.Contains(line, "perf:") && strings.Contains(line, "<!--") {
				return fmt.Errorf("line %d: a malformed perf marker: %q", i+1, line)
			}
			continue
		}
		if strings.TrimSpace(line) != m[0] {
			return fmt.Errorf("line %d: a perf marker must be alone on its line: %q", i+1, line)
		}
		name, closing := m[2], m[1] == "/"
		if !known[name] {
			return fmt.Errorf("line %d: unknown perf marker %q", i+1, name)
		}
		switch {
		case !closing && open != "":
			return fmt.Errorf("line %d: perf:%s opened inside perf:%s", i+1, name, open)
		case !closing:
			if seen[name]++; seen[name] > 1 {
				return fmt.Errorf("line %d: perf:%s opened twice", i+1, name)
			}
			open = name
		case open != name:
			return fmt.Errorf("line %d: /perf:%s closes what is not open", i+1, name)
		default:
			open = ""
		}
	}
	if open != "" {
		return fmt.Errorf("perf:%s is never closed", open)
	}
	for _, n := range names {
		if seen[n] == 0 {
			return fmt.Errorf("no perf:%s marker", n)
		}
	}
	return nil
}

// replaceSection puts content between name's markers, with a blank line
// before the close marker so that a table ends before it. doc must pass
// checkMarkers.
func replaceSection(doc, name, content string) string {
	o, c := openMarker(name), closeMarker(name)
	i := strings.Index(doc, o) + len(o)
	j := strings.Index(doc, c)
	return doc[:i] + "\n" + strings.TrimSpace(content) + "\n\n" + doc[j:]
}
