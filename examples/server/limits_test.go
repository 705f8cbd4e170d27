package main_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// forgotRequest is a raw ForgotPassword request for the demo user, with
// the given Content-Length, without its body.
func forgotRequest(length int) string {
	return "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		"X-Amz-Target: AWSCognitoIdentityProviderService.ForgotPassword\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
}

const forgotBody = `{"ClientId":"demo","Username":"demo"}`

// waitClosed reads c until the server closes it, for at most limit, and
// returns how long that took.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	c.SetReadDeadline(begin.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %s", limit)
	}
	return time.Since(begin)
}

// TestSlowBodyIsCutOff: a client that sends its body a byte at a time is
// cut off at -read-timeout.
func TestSlowBodyIsCutOff(t *testing.T) {
	s := start(t, nil, "-read-timeout", "1s")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := time.Now()
	if _, err := io.WriteString(c, forgotRequest(1000)); err != nil {
		t.Fatal(err)
	}
	go func() { // one byte every 100 ms: 100 s for the whole body
		for i := 0; i < 1000; i++ {
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	waitClosed(t, c, 10*time.Second)
	took := time.Since(begin)
	t.Logf("slow body cut off after %s (-read-timeout 1s)", took.Round(time.Millisecond))
	if took < 900*time.Millisecond || took > 3*time.Second {
		t.Errorf("slow body cut off after %s, want about 1s", took)
	}
}

// TestIdleConnectionIsClosed: a keep-alive connection is closed after
// -idle-timeout without a request.
func TestIdleConnectionIsClosed(t *testing.T) {
	s := start(t, nil, "-idle-timeout", "1s")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, forgotRequest(len(forgotBody))+forgotBody); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("status %d, close %v: want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	took := waitClosed(t, c, 10*time.Second)
	t.Logf("idle connection closed after %s (-idle-timeout 1s)", took.Round(time.Millisecond))
	if took < 900*time.Millisecond || took > 3*time.Second {
		t.Errorf("idle connection closed after %s, want about 1s", took)
	}
}

// TestConnectionLimit: with -max-conns 2 taken by clients that never
// finish their headers, a third client waits until -read-header-timeout
// frees a place, and is then served.
func TestConnectionLimit(t *testing.T) {
	s := start(t, nil, "-max-conns", "2", "-read-header-timeout", "1s")
	for range 2 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: test\r\n") // and nothing more
	}
	time.Sleep(100 * time.Millisecond) // let the server accept both
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("demo"), Username: aws.String("demo")})
	took := time.Since(begin)
	t.Logf("third connection served after %s (-max-conns 2, -read-header-timeout 1s)", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the third client: %v", err)
	}
	if took < 700*time.Millisecond {
		t.Errorf("the third client was served after %s, before a place was free", took)
	}
}

// vmHWM reads the peak resident set size of a process, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// signInMemoryBound is the peak RSS allowed with -max-hashes 2 under 48
// concurrent wrong sign-ins: 2 argon2id hashes of 19 MiB at once, twice
// that for the garbage collector's headroom, the process's base (about 50
// MiB, two hashes at start-up included) and a margin. Measured: 110 to
// 130 MiB; without the bound the same load took 1.07 GB.
const signInMemoryBound = 176 << 20

// TestWrongSignInsBoundMemory: 48 concurrent wrong sign-ins (each of an
// unknown user, so each hashes) keep the peak RSS under
// signInMemoryBound; unbounded, they took over 1 GB.
func TestWrongSignInsBoundMemory(t *testing.T) {
	s := start(t, nil, "-max-hashes", "2")
	before := vmHWM(t, s.cmd.Process.Pid)
	var wg sync.WaitGroup
	errs := make([]error, 48)
	begin := time.Now()
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.signIn("demo", fmt.Sprintf("nobody-%d", i), "Wrong-passw0rd!")
		})
	}
	wg.Wait()
	took := time.Since(begin)
	for i, err := range errs {
		var na *types.NotAuthorizedException
		if !errors.As(err, &na) || aws.ToString(na.Message) != "Incorrect username or password." {
			t.Errorf("wrong sign-in %d: %v", i, err)
		}
	}
	peak := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("48 concurrent wrong sign-ins in %s: peak RSS %d MiB (%d MiB before), bound %d MiB",
		took.Round(time.Millisecond), peak>>20, before>>20, signInMemoryBound>>20)
	if peak > signInMemoryBound {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, signInMemoryBound>>20)
	}
}

// TestSignInFailureLimit: after 5 failures a user's right password is
// refused, and an unknown username gets the same answers.
func TestSignInFailureLimit(t *testing.T) {
	s := start(t, nil)
	for _, user := range []string{"demo", "nobody"} {
		for i := range 5 {
			var na *types.NotAuthorizedException
			if err := s.signIn("demo", user, "Wrong-passw0rd!"); !errors.As(err, &na) || aws.ToString(na.Message) != "Incorrect username or password." {
				t.Fatalf("wrong sign-in %d of %s: %v", i+1, user, err)
			}
		}
		var na *types.NotAuthorizedException
		if err := s.signIn("demo", user, "Demo-passw0rd!"); !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
			t.Errorf("sign-in of %s after 5 failures: %v, want NotAuthorizedException: Password attempts exceeded", user, err)
		}
	}
}
