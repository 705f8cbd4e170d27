package outboxtest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// Child is the test binary run again as a child process, for crash tests
// that kill it with SIGKILL.
type Child struct {
	cmd   *exec.Cmd
	lines chan string
}

// StartChild runs the test named test (a ^...$ pattern is built from it)
// in a child process with env added to the environment; the child is
// killed when t ends, if it still runs.
func StartChild(ctx context.Context, t *testing.T, test string, env []string) *Child {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(c.Kill)
	return c
}

// Pid is the child's process ID.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// WaitLine returns the first line the child prints that starts with
// prefix, failing the test if it ends without one.
func (c *Child) WaitLine(t *testing.T, prefix string) string {
	t.Helper()
	for line := range c.lines {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("the child ended without printing %q", prefix)
	return ""
}

// Kill sends SIGKILL, once, and waits for the child to end.
func (c *Child) Kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}
