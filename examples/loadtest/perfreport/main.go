// Command perfreport writes the performance section of the README from the
// raw outputs of one run of examples/loadtest/report.sh: it reads the
// files report.sh saved in a directory, renders each table, and replaces
// what stands between the table's marker comments (<!-- perf:NAME --> and
// <!-- /perf:NAME -->) in the README. A table whose inputs are missing or
// unusable is left as it was and reported as kept (unusable inputs also
// make the command fail, after it has written the others).
//
//	go run ./examples/loadtest/perfreport -dir DIR [-readme README.md] [-n]
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

// section is one generated part of the README and the files it is made of
// (glob patterns, relative to the run's directory).
type section struct {
	name   string
	inputs []string
	render func(files [][]byte) (string, error)
}

var sections = []section{
	{"machine", []string{"machine.txt"}, func(f [][]byte) (string, error) {
		m, err := parseMachine(f[0])
		if err != nil {
			return "", err
		}
		return renderMachine(m), nil
	}},
	{"engine", []string{"memory.txt"}, benchSection(renderEngine)},
	{"postgres", []string{"pgx.txt", "compare.txt"}, func(f [][]byte) (string, error) {
		s, err := parseBench(f[0])
		if err != nil {
			return "", err
		}
		rounds, err := parseCompare(f[1])
		if err != nil {
			return "", err
		}
		return renderPostgres(s, rounds), nil
	}},
	{"redis", []string{"redis.txt"}, func(f [][]byte) (string, error) {
		s, err := parseBench(f[0])
		if err != nil {
			return "", err
		}
		floors := redisFloors(f[0])
		if len(s) == 0 || len(floors) == 0 {
			return "", errors.New("redis.txt has no benchmark or no redis-benchmark lines")
		}
		return renderRedis(s, floors), nil
	}},
	{"http", []string{"http-*.json"}, loadSection(renderHTTP)},
	{"burst", []string{"burst-*.json"}, loadSection(renderBurst)},
	{"path", []string{"path-*.json"}, loadSection(renderPath)},
	{"smtp", []string{"smtp.txt"}, benchSection(renderSMTP)},
}

func sectionNames() []string {
	var n []string
	for _, s := range sections {
		n = append(n, s.name)
	}
	return n
}

func benchSection(render func(benchSet) string) func([][]byte) (string, error) {
	return func(f [][]byte) (string, error) {
		s, err := parseBench(f[0])
		if err != nil {
			return "", err
		}
		if len(s) == 0 {
			return "", errors.New("no benchmark results")
		}
		return render(s), nil
	}
}

// loadSection renders every loadtest summary matched by its pattern.
func loadSection(render func([]runsummary.Run) string) func([][]byte) (string, error) {
	return func(f [][]byte) (string, error) {
		var runs []runsummary.Run
		for _, b := range f {
			r, err := parseLoadRun(b)
			if err != nil {
				return "", err
			}
			runs = append(runs, r)
		}
		return render(runs), nil
	}
}

func main() {
	dir := flag.String("dir", "", "directory of report.sh's raw outputs")
	readme := flag.String("readme", "README.md", "README to rewrite between its perf markers")
	dry := flag.Bool("n", false, "print the sections; leave the README alone")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "perfreport: -dir is required")
		os.Exit(2)
	}
	if err := run(*dir, *readme, *dry, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "perfreport:", err)
		os.Exit(1)
	}
}

// readInputs reads a section's files; ok is false when one of its
// patterns matches nothing.
func readInputs(dir string, s section) (files [][]byte, ok bool, err error) {
	for _, pattern := range s.inputs {
		paths, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, false, err
		}
		if len(paths) == 0 {
			return nil, false, nil
		}
		slices.Sort(paths)
		if len(s.inputs) > 1 && len(paths) > 1 {
			return nil, false, fmt.Errorf("%s: %d files match %s", s.name, len(paths), pattern)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, false, err
			}
			files = append(files, b)
		}
	}
	return files, true, nil
}

func run(dir, readme string, dry bool, out io.Writer) error {
	b, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	doc := string(b)
	if err := checkMarkers(doc, sectionNames()); err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	// A section that cannot be made keeps the README's figures; the others
	// are still written, and the errors returned.
	var wrote, kept []string
	var errs []error
	for _, s := range sections {
		files, ok, err := readInputs(dir, s)
		if !ok {
			kept = append(kept, s.name)
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		content, err := s.render(files)
		if err != nil {
			kept = append(kept, s.name)
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			continue
		}
		fmt.Fprintf(out, "%s\n\n", content)
		doc = replaceSection(doc, s.name, content)
		wrote = append(wrote, s.name)
	}
	if !dry {
		if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
			return err
		}
	}
	verb := "rewrote"
	if dry {
		verb = "would rewrite"
	}
	fmt.Fprintf(out, "%s: %s %s", readme, verb, cmp.Or(strings.Join(wrote, ", "), "nothing"))
	if len(kept) > 0 {
		fmt.Fprintf(out, "; kept %s (no usable input in %s)", strings.Join(kept, ", "), dir)
	}
	fmt.Fprintln(out)
	return errors.Join(errs...)
}
