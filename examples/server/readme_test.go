package main_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/recoverykit/recoverykit/recovery"
)

// readmeSection returns the README's "## Try it over HTTP" section.
func readmeSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Try it over HTTP\n")
	if !ok {
		t.Fatal(`README.md has no "## Try it over HTTP" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// codeBlock returns the first fenced block of lang in text.
func codeBlock(t *testing.T, text, lang string) string {
	t.Helper()
	_, block, ok := strings.Cut(text, "```"+lang+"\n")
	if !ok {
		t.Fatalf("no ```%s block in the README section", lang)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// readmeLine returns the line of text that starts with prefix.
func readmeLine(t *testing.T, text, prefix string) string {
	t.Helper()
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("no line starting with %q in the README section", prefix)
	return ""
}

// TestReadmeDemo runs the README's demo steps (the aws CLI calls, through
// the Go SDK): RECOVERY_KEY in base64 from the environment, no flags, the
// demo client without a secret.
func TestReadmeDemo(t *testing.T) {
	sec := readmeSection(t)
	for _, want := range []string{"export RECOVERY_KEY=$(head -c 32 /dev/urandom | base64)", "--client-id demo --username demo", "--password 'N3w-passw0rd!'", "USERNAME=demo,PASSWORD='N3w-passw0rd!'"} {
		if !strings.Contains(sec, want) {
			t.Fatalf("the README no longer says %q: update this test", want)
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := start(t, []string{"RECOVERY_KEY=" + base64.StdEncoding.EncodeToString(key)})
	if !strings.Contains(s.log(), "DEVELOPMENT MODE") || strings.Contains(s.log(), "NO CODE-HASHING KEY") {
		t.Fatalf("want development mode with the key from RECOVERY_KEY:\n%s", s.log())
	}
	ctx := context.Background()
	if _, err := s.sdk.ForgotPassword(ctx, forgotInput("demo", "demo")); err != nil {
		t.Fatal(err)
	}
	code := s.printedCode(t, "demo@example.com")
	if _, err := s.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("demo"), Username: aws.String("demo"),
		ConfirmationCode: aws.String(code), Password: aws.String("N3w-passw0rd!")}); err != nil {
		t.Fatal(err)
	}
	if err := s.signIn("demo", "demo", "N3w-passw0rd!"); err != nil {
		t.Fatal(err)
	}
	stop(t, s)
}

// TestReadmeSeedAndSecretHash runs the README's seed as written, with the
// client that has a secret, and its shell line for the secret hash.
func TestReadmeSeedAndSecretHash(t *testing.T) {
	sec := readmeSection(t)
	seed := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(seed, []byte(codeBlock(t, sec, "json")), 0o600); err != nil {
		t.Fatal(err)
	}
	script := readmeLine(t, sec, "CLIENT_ID=") + "\n" + readmeLine(t, sec, "SECRET_HASH=$(") + "\nprintf %s \"$SECRET_HASH\""
	want := recovery.SecretHash("replace-with-a-long-random-secret", "alice", "backend")
	hash := want
	if out, err := exec.Command("bash", "-c", script).Output(); err != nil {
		t.Logf("the README's secret-hash line did not run here (%v): using recovery.SecretHash", err)
	} else if hash = string(out); hash != want {
		t.Fatalf("the README's secret-hash line gives %q, want %q", hash, want)
	}
	keyEnv, _ := randomKey()
	s := start(t, []string{keyEnv}, "-seed", seed)
	ctx := context.Background()
	in := forgotInput("backend", "alice")
	in.SecretHash = aws.String(hash)
	if _, err := s.sdk.ForgotPassword(ctx, in); err != nil {
		t.Fatal(err)
	}
	code := s.printedCode(t, "alice@example.com")
	if _, err := s.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("backend"), Username: aws.String("alice"),
		SecretHash: aws.String(hash), ConfirmationCode: aws.String(code), Password: aws.String("N3w-passw0rd!")}); err != nil {
		t.Fatal(err)
	}
	out, err := s.sdk.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String("backend"),
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "N3w-passw0rd!", "SECRET_HASH": hash}})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("initiate-auth with the secret hash: %v", err)
	}
	stop(t, s)
}
