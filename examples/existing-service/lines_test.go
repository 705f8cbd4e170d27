package main

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The promise of this example: forgot-password is added to a service in
// one file of at most 40 lines, and tested in at most 15. Lines are those
// holding code: blank and comment lines are not counted. The glue counts
// whole, package clause and imports included; the test counts from its
// first declaration after the imports.
func TestTheGlueStaysSmall(t *testing.T) {
	for _, c := range []struct {
		file         string
		limit        int
		afterImports bool
	}{
		{"recovery.go", 40, false},
		{"recovery_test.go", 15, true},
	} {
		n := codeLines(t, c.file, c.afterImports)
		t.Logf("%s: %d lines of code (limit %d)", c.file, n, c.limit)
		if n > c.limit {
			t.Errorf("%s has %d lines of code, more than the %d this example promises", c.file, n, c.limit)
		}
	}
}

// Everything recovery adds is in recovery.go: no other file of the service
// imports this module.
func TestOnlyTheGlueImportsRecovery(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == "recovery.go" {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, "github.com/recoverykit/") {
				t.Errorf("%s imports %s: recovery belongs in recovery.go", name, path)
			}
		}
	}
}

// codeLines counts the lines of file that hold a token other than a
// comment, optionally only those after the import declarations.
func codeLines(t *testing.T, file string, afterImports bool) int {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	from := 0
	if afterImports {
		f, err := parser.ParseFile(fset, file, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		from = fset.Position(f.Name.End()).Line
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
				from = fset.Position(g.End()).Line
			}
		}
	}
	var s scanner.Scanner
	tf := fset.AddFile(file, -1, len(src))
	s.Init(tf, src, nil, 0) // comments are skipped
	lines := map[int]bool{}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue // an inserted semicolon, not code
		}
		start := tf.Line(pos)
		for l := start; l <= start+strings.Count(lit, "\n"); l++ {
			if l > from {
				lines[l] = true
			}
		}
	}
	return len(lines)
}

// The README shows recovery.go after its imports, and the handler test:
// what it shows is what runs.
func TestTheReadmeShowsTheseFiles(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for file, from := range map[string]string{"recovery.go": "// passwords writes", "recovery_test.go": "func TestForgotAndReset"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(src), from)
		if i < 0 {
			t.Fatalf("%s no longer has %q: update this test and the README", file, from)
		}
		if block := "```go\n" + string(src[i:]) + "```"; !strings.Contains(string(readme), block) {
			t.Errorf("README.md does not show %s as it is; paste it from %q on", file, from)
		}
	}
}
