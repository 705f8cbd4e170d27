package main_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recovery-server-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "server")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const secretClientSecret = "the-private-client-secret"

// writeSeed writes a seed with a unique pool, so runs against a shared
// database do not meet each other's budgets.
func writeSeed(t *testing.T) (path, pool string) {
	t.Helper()
	pool = "us-east-1_" + strings.ToLower(rand.Text()[:10])
	s := map[string]any{
		"userPoolId":      pool,
		"accountRecovery": []string{"verified_email", "verified_phone_number"},
		"clients": []map[string]any{
			{"clientId": "web", "preventUserExistenceErrors": false},
			{"clientId": "private", "clientSecret": secretClientSecret, "preventUserExistenceErrors": false},
			{"clientId": "quiet", "preventUserExistenceErrors": true},
		},
		"users": []map[string]any{
			{"username": "alice", "password": "Old-passw0rd!", "attributes": map[string]string{"email": "alice@example.com", "email_verified": "true", "locale": "en"}},
			{"username": "bob", "password": "Old-passw0rd!", "attributes": map[string]string{"phone_number": "+15555550100", "phone_number_verified": "true"}},
			{"username": "carl", "password": "Old-passw0rd!", "enabled": false, "attributes": map[string]string{"email": "carl@example.com", "email_verified": "true"}},
			{"username": "dora", "password": "Old-passw0rd!", "status": "RESET_REQUIRED", "attributes": map[string]string{"email": "dora@example.com", "email_verified": "true"}},
		},
	}
	b, _ := json.Marshal(s)
	path = filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pool
}

// server is a running example server.
type server struct {
	cmd    *exec.Cmd
	sdk    *cip.Client
	addr   string // host:port it listens on
	mu     sync.Mutex
	stderr strings.Builder
	codes  map[string]string // from the dev printer on stderr: To -> code
	exited chan struct{}     // closed when the process has exited
	err    error             // its exit status, once exited is closed
}

var (
	readyLine = regexp.MustCompile(`msg=ready addr=(\S+)`)
	toLine    = regexp.MustCompile(`^To:\s+(\S+)`)
	codeLine  = regexp.MustCompile(`^Code:\s+(\d+)`)
)

func start(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := &server{codes: map[string]string{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Env = append(os.Environ(), env...)
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		to := ""
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			if m := toLine.FindStringSubmatch(line); m != nil {
				to = m[1]
			}
			if m := codeLine.FindStringSubmatch(line); m != nil {
				s.codes[to] = m[1]
			}
			s.mu.Unlock()
			if m := readyLine.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
	})
	select {
	case addr := <-ready:
		s.addr = addr
		s.sdk = cip.New(cip.Options{
			Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
			Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
		})
	case <-s.exited:
		t.Fatalf("the server exited: %v\n%s", s.err, s.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not get ready:\n%s", s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) printedCode(t *testing.T, to string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		c, ok := s.codes[to]
		delete(s.codes, to)
		s.mu.Unlock()
		if ok {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no code printed for %s:\n%s", to, s.log())
	return ""
}

func (s *server) signIn(client, username, password string) error {
	params := map[string]string{"USERNAME": username, "PASSWORD": password}
	if client == "private" {
		params["SECRET_HASH"] = recovery.SecretHash(secretClientSecret, username, client)
	}
	out, err := s.sdk.InitiateAuth(context.Background(), &cip.InitiateAuthInput{
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(client), AuthParameters: params,
	})
	if err == nil && (out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "" || out.AuthenticationResult.ExpiresIn != 3600) {
		return fmt.Errorf("malformed AuthenticationResult %+v", out.AuthenticationResult)
	}
	return err
}

// reset runs the whole flow for a user and checks sign-in before and after.
func reset(t *testing.T, s *server, client, username string, codeFor func() string, medium types.DeliveryMediumType, dest string) {
	t.Helper()
	ctx := context.Background()
	in := &cip.ForgotPasswordInput{ClientId: aws.String(client), Username: aws.String(username)}
	if client == "private" {
		in.SecretHash = aws.String(recovery.SecretHash(secretClientSecret, username, client))
	}
	out, err := s.sdk.ForgotPassword(ctx, in)
	if err != nil {
		t.Fatalf("ForgotPassword(%s): %v", username, err)
	}
	if d := out.CodeDeliveryDetails; d.DeliveryMedium != medium || aws.ToString(d.Destination) != dest {
		t.Fatalf("details %+v, want %s %s", d, medium, dest)
	}
	code := codeFor()
	newPassword := "N3w-" + strings.ToLower(rand.Text()[:8]) + "!"
	cin := &cip.ConfirmForgotPasswordInput{ClientId: aws.String(client), Username: aws.String(username), ConfirmationCode: aws.String(code), Password: aws.String(newPassword)}
	if client == "private" {
		cin.SecretHash = in.SecretHash
	}
	if _, err := s.sdk.ConfirmForgotPassword(ctx, cin); err != nil {
		t.Fatalf("ConfirmForgotPassword(%s): %v", username, err)
	}
	if err := s.signIn(client, username, newPassword); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	var na *types.NotAuthorizedException
	if err := s.signIn(client, username, "Old-passw0rd!"); !errors.As(err, &na) || aws.ToString(na.Message) != "Incorrect username or password." {
		t.Fatalf("sign-in with the old password: %v", err)
	}
}

// exercise is the scenario every storage mode runs.
func exercise(t *testing.T, s *server, codeFor func(to string) func() string) {
	reset(t, s, "web", "alice", codeFor("alice@example.com"), types.DeliveryMediumTypeEmail, "a***@e***")
	reset(t, s, "private", "bob", codeFor("+15555550100"), types.DeliveryMediumTypeSms, "+*******0100")
	// RESET_REQUIRED cannot sign in until it resets, then can.
	var prr *types.PasswordResetRequiredException
	if err := s.signIn("web", "dora", "Old-passw0rd!"); !errors.As(err, &prr) {
		t.Fatalf("RESET_REQUIRED sign-in: %v", err)
	}
	reset(t, s, "web", "dora", codeFor("dora@example.com"), types.DeliveryMediumTypeEmail, "d***@e***")

	ctx := context.Background()
	var nf *types.UserNotFoundException
	if _, err := s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("nobody")}); !errors.As(err, &nf) {
		t.Fatalf("unknown user, LEGACY: %v", err)
	}
	if out, err := s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("quiet"), Username: aws.String("nobody")}); err != nil || out.CodeDeliveryDetails == nil {
		t.Fatalf("unknown user, ENABLED: %v", err)
	}
	var na *types.NotAuthorizedException
	if _, err := s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("carl")}); !errors.As(err, &na) || aws.ToString(na.Message) != "User is disabled." {
		t.Fatalf("disabled user: %v", err)
	}
	var cm *types.CodeMismatchException
	s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("alice")})
	if _, err := s.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("alice"), ConfirmationCode: aws.String("x"), Password: aws.String("N3w-passw0rd!")}); !errors.As(err, &cm) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := s.signIn("private", "bob", "wrong-Passw0rd!"); !errors.As(err, &na) {
		t.Fatalf("wrong password: %v", err)
	}
}

// stop sends SIGTERM and expects a clean exit.
func stop(t *testing.T, s *server) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", s.err, s.log())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop within 15s of SIGTERM")
	}
	if !strings.Contains(s.log(), "shutting down") {
		t.Fatalf("no shutdown line:\n%s", s.log())
	}
}

func printed(t *testing.T, s *server) func(string) func() string {
	return func(to string) func() string { return func() string { return s.printedCode(t, to) } }
}

func TestNoFlags(t *testing.T) {
	s := start(t, nil)
	for _, want := range []string{`user "demo" with password "Demo-passw0rd!"`, "DEVELOPMENT MODE", "NO CODE-HASHING KEY"} {
		if !strings.Contains(s.log(), want) {
			t.Fatalf("no %q at start-up:\n%s", want, s.log())
		}
	}
	reset(t, s, "demo", "demo", func() string { return s.printedCode(t, "demo@example.com") }, types.DeliveryMediumTypeEmail, "d***@e***")
	stop(t, s)
}

func TestMemory(t *testing.T) {
	seed, _ := writeSeed(t)
	s := start(t, nil, "-seed", seed)
	exercise(t, s, printed(t, s))
	stop(t, s)
}

// TestSMTPWebhookAsync delivers email to an SMTP sink and SMS to a signed
// webhook, in the background.
func TestSMTPWebhookAsync(t *testing.T) {
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	secret := []byte(strings.Repeat("s", 32))
	smsCodes := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := standardwebhooks.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("SMS webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct{ Medium, To, Code string }
		json.Unmarshal(body, &p)
		if p.Medium != "SMS" || p.To != "+15555550100" {
			t.Errorf("SMS webhook payload %s", body)
		}
		smsCodes <- p.Code
	}))
	defer hook.Close()
	seed, _ := writeSeed(t)
	s := start(t, []string{"SMS_WEBHOOK_SECRET=" + standardwebhooks.FormatSecret(secret)},
		"-seed", seed, "-smtp", sink.Addr(), "-sms-webhook", hook.URL+"/sms", "-async")
	mail := func(to string) func() string {
		if !strings.Contains(to, "@") {
			return func() string {
				select {
				case c := <-smsCodes:
					return c
				case <-time.After(10 * time.Second):
					t.Fatalf("no SMS webhook call\n%s", s.log())
					return ""
				}
			}
		}
		return func() string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := sink.Take(ctx, to)
			if err != nil {
				t.Fatalf("%v\n%s", err, s.log())
			}
			return c
		}
	}
	exercise(t, s, mail)
	stop(t, s)
}

// TestPostgres runs the scenario on Postgres, with the deprecated -key
// flag, which keeps working.
func TestPostgres(t *testing.T) {
	seed, _ := writeSeed(t)
	s := start(t, nil, append(postgresArgs(t), "-seed", seed, "-key", strings.Repeat("ab", 32))...)
	if !strings.Contains(s.log(), "ps and /proc/<pid>/cmdline show it") {
		t.Errorf("-key gives no warning that ps shows it:\n%s", s.log())
	}
	exercise(t, s, printed(t, s))
	stop(t, s)
}

func TestRedis(t *testing.T) {
	seed, _ := writeSeed(t)
	s := start(t, nil, append(redisArgs(t), "-seed", seed)...)
	exercise(t, s, printed(t, s))
	stop(t, s)
}
