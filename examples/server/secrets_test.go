package main_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestCmdlineShowsNoSecret: a server given its keys and webhook secret in
// the environment shows none of them in /proc/<pid>/cmdline, ps or its
// log.
func TestCmdlineShowsNoSecret(t *testing.T) {
	keyEnv, key := randomKey()
	pseudonym := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", 32)))
	url, _ := hook(t, 200)
	seed, _ := writeSeed(t)
	s := start(t, []string{keyEnv, "RECOVERY_PSEUDONYM_KEY=" + pseudonym, smsSecretEnv},
		"-seed", seed, "-sms-webhook", url)
	pid := s.cmd.Process.Pid
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	ps, _ := exec.Command("ps", "-ww", "-o", "args=", "-p", fmt.Sprint(pid)).Output()
	smsSecret := strings.TrimPrefix(smsSecretEnv, "SMS_WEBHOOK_SECRET=")
	for what, text := range map[string]string{"/proc/<pid>/cmdline": string(cmdline), "ps": string(ps), "the log": s.log()} {
		for name, secret := range map[string]string{"RECOVERY_KEY": key, "RECOVERY_PSEUDONYM_KEY": pseudonym, "SMS_WEBHOOK_SECRET": smsSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %s:\n%s", what, name, text)
			}
		}
	}
	t.Logf("cmdline: %q", strings.ReplaceAll(string(cmdline), "\x00", " "))
	if !strings.Contains(s.log(), "code-hashing keys loaded") || !strings.Contains(s.log(), "pseudonym_key=true") || strings.Contains(s.log(), "NO CODE-HASHING KEY") {
		t.Errorf("the keys from the environment were not used:\n%s", s.log())
	}
}

// TestKeyRotation: B lists a new key first and A's key second (in a key
// file); B accepts the code A issued.
func TestKeyRotation(t *testing.T) {
	storage := redisArgs(t)
	seed, _ := writeSeed(t)
	oldEnv, oldKey := randomKey()
	_, newKey := randomKey()
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte(newKey+"\n"+oldKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pseudonym := "RECOVERY_PSEUDONYM_KEY=" + strings.Repeat("ab", 32)
	a := start(t, []string{oldEnv, pseudonym}, append([]string{"-seed", seed}, storage...)...)
	b := start(t, []string{pseudonym}, append([]string{"-seed", seed, "-key-file", file}, storage...)...)
	newPassword := resetAcross(t, a, b, "alice", "alice@example.com")
	wantSignIn(t, a, "alice", newPassword, "Old-passw0rd!")
	// The same simulated answer on both, though their first keys differ.
	da, errA := a.sdk.ForgotPassword(t.Context(), forgotInput("quiet", "nobody@example.com"))
	db, errB := b.sdk.ForgotPassword(t.Context(), forgotInput("quiet", "nobody@example.com"))
	if errA != nil || errB != nil {
		t.Fatalf("simulated answers: %v, %v", errA, errB)
	}
	if x, y := details(da.CodeDeliveryDetails), details(db.CodeDeliveryDetails); x != y {
		t.Errorf("simulated answers differ across the rotation: %s and %s", x, y)
	}
}

func forgotInput(client, username string) *cip.ForgotPasswordInput {
	return &cip.ForgotPasswordInput{ClientId: aws.String(client), Username: aws.String(username)}
}

// details prints a CodeDeliveryDetails for comparison.
func details(d *types.CodeDeliveryDetailsType) string {
	if d == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %s %s", d.DeliveryMedium, aws.ToString(d.AttributeName), aws.ToString(d.Destination))
}

// TestBadFlags: every bad setting stops the server with an error.
func TestBadFlags(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "short")
	os.WriteFile(keyFile, []byte("abcd"), 0o600)
	phoneOnly := filepath.Join(t.TempDir(), "seed.json")
	os.WriteFile(phoneOnly, []byte(`{"accountRecovery":["verified_phone_number"],"clients":[{"clientId":"web"}]}`), 0o600)
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"-store", "mongo"}},
		{nil, []string{"-store", "postgres"}},
		{nil, []string{"-store", "redis"}},
		{nil, []string{"-seed", "/nonexistent.json"}},
		{nil, []string{"-key", "not!hex"}},
		{nil, []string{"-sms-webhook", "http://127.0.0.1:1/sms"}},
		{nil, []string{"-async", "-deliver-during-request-reveals-existence"}},
		{nil, []string{"-key-file", "/nonexistent"}},
		{nil, []string{"-key-file", keyFile}},
		{nil, []string{"-read-timeout", "0s"}},
		{nil, []string{"-max-hashes", "0"}},
		{nil, []string{"-seed", phoneOnly, "-smtp", "127.0.0.1:1"}},
		{[]string{"RECOVERY_KEY=abcd"}, nil},
		{[]string{"RECOVERY_KEY=" + strings.Repeat("ab", 32)}, []string{"-key", strings.Repeat("cd", 32)}},
		{[]string{"RECOVERY_PSEUDONYM_KEY=short"}, nil},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, binary, append([]string{"-addr", "127.0.0.1:0"}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		switch {
		case ctx.Err() != nil:
			t.Errorf("%v %v: the server started\n%s", c.env, c.args, out)
		case err == nil:
			t.Errorf("%v %v: exited 0\n%s", c.env, c.args, out)
		}
		cancel()
		if strings.Contains(string(out), "cdcdcdcd") {
			t.Errorf("%v %v: the error echoes the key\n%s", c.env, c.args, out)
		}
	}
}
