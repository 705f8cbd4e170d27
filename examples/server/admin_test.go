package main_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

const (
	adminKeyID  = "AKIDEXAMPLESERVER"
	adminSecret = "example-server-admin-secret-0123456789"
)

// adminSDK is a client of s that signs with the access key.
func adminSDK(s *server, id, secret string) *cip.Client {
	return cip.New(cip.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.addr), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
		}),
	})
}

// TestAdminResetUserPassword: an administrator resets alice's password;
// her old one then answers PasswordResetRequiredException until she
// confirms the code she was sent, after which the new one signs in.
func TestAdminResetUserPassword(t *testing.T) {
	seed, pool := writeSeed(t)
	creds := filepath.Join(t.TempDir(), "admin")
	if err := os.WriteFile(creds, []byte(adminKeyID+":"+adminSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyEnv, _ := randomKey()
	s := start(t, []string{keyEnv}, "-seed", seed, "-admin-credentials-file", creds)
	ctx := context.Background()
	in := &cip.AdminResetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String("alice")}
	var apiErr smithy.APIError
	if _, err := adminSDK(s, adminKeyID, "not-the-admin-secret-at-all").AdminResetUserPassword(ctx, in); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("a wrong secret: %v, want InvalidSignatureException", err)
	}
	if err := s.signIn("web", "alice", "Old-passw0rd!"); err != nil {
		t.Fatalf("sign-in after a refused admin request: %v", err)
	}
	if _, err := adminSDK(s, adminKeyID, adminSecret).AdminResetUserPassword(ctx, in); err != nil {
		t.Fatalf("AdminResetUserPassword: %v", err)
	}
	var resetRequired *types.PasswordResetRequiredException
	if err := s.signIn("web", "alice", "Old-passw0rd!"); !errors.As(err, &resetRequired) {
		t.Fatalf("sign-in with the old password after the admin reset: %v, want PasswordResetRequiredException", err)
	}
	code := s.printedCode(t, "alice@example.com")
	if _, err := s.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("alice"),
		ConfirmationCode: aws.String(code), Password: aws.String("N3w-passw0rd!")}); err != nil {
		t.Fatalf("ConfirmForgotPassword with the admin reset's code: %v", err)
	}
	if err := s.signIn("web", "alice", "N3w-passw0rd!"); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	var notFound *types.UserNotFoundException
	in.Username = aws.String("nobody")
	if _, err := adminSDK(s, adminKeyID, adminSecret).AdminResetUserPassword(ctx, in); !errors.As(err, &notFound) {
		t.Fatalf("an unknown user: %v, want UserNotFoundException", err)
	}
	stop(t, s)
}

// TestAdminOffByDefault: without admin credentials, a signed admin request
// is refused and changes nothing.
func TestAdminOffByDefault(t *testing.T) {
	seed, pool := writeSeed(t)
	keyEnv, _ := randomKey()
	s := start(t, []string{keyEnv}, "-seed", seed)
	_, err := adminSDK(s, adminKeyID, adminSecret).AdminResetUserPassword(context.Background(),
		&cip.AdminResetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String("alice")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("admin request without -admin-credentials-file: %v, want UnrecognizedClientException", err)
	}
	if err := s.signIn("web", "alice", "Old-passw0rd!"); err != nil {
		t.Fatalf("sign-in after a refused admin request: %v", err)
	}
	stop(t, s)
}

// TestAdminBadCredentials: malformed or doubly given admin credentials stop
// the server, with an error that does not quote them.
func TestAdminBadCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "admin")
	os.WriteFile(file, []byte(adminKeyID+":"+adminSecret), 0o600)
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{[]string{"RECOVERY_ADMIN_CREDENTIALS=" + adminKeyID + ":short-secret"}, nil},
		{[]string{"RECOVERY_ADMIN_CREDENTIALS=no-colon-" + adminSecret}, nil},
		{[]string{"RECOVERY_ADMIN_CREDENTIALS=" + adminKeyID + ":" + adminSecret}, []string{"-admin-credentials-file", file}},
		{nil, []string{"-admin-credentials-file", "/nonexistent"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, binary, append([]string{"-addr", "127.0.0.1:0"}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Errorf("%v %v: the server did not stop with an error (%v):\n%s", c.env, c.args, err, out)
		}
		if strings.Contains(string(out), "short-secret") || strings.Contains(string(out), adminSecret) {
			t.Errorf("%v %v: the error quotes the secret:\n%s", c.env, c.args, out)
		}
	}
}
