package jsonhttp_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
)

// The README's error table has an HTTP column; it must be what Status
// answers, and it must list every error the engine knows.
func TestReadmeStatusColumn(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	section = section[strings.Index(section, "## Errors"):]
	section = section[:strings.Index(section, "\n## ")]
	listed := map[recovery.ErrorCode]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 || !strings.HasPrefix(cells[0], "`") {
			continue
		}
		want, err := strconv.Atoi(cells[2])
		if err != nil {
			t.Fatalf("bad status cell in %q", line)
		}
		for _, name := range strings.Split(cells[0], ", ") {
			code := recovery.ErrorCode(strings.Trim(name, "`"))
			listed[code] = true
			if got := jsonhttp.Status(&recovery.Error{Name: code}); got != want {
				t.Errorf("README says %s is %d; Status says %d", code, want, got)
			}
		}
	}
	for _, code := range recovery.AnswerCodes() {
		if !listed[code] {
			t.Errorf("the README's error table does not list %s", code)
		}
	}
}
