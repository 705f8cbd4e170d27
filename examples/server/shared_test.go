package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// randomKey returns RECOVERY_KEY=<32 random bytes in hex>, and the hex.
func randomKey() (env, key string) {
	b := make([]byte, 32)
	rand.Read(b)
	key = hex.EncodeToString(b)
	return "RECOVERY_KEY=" + key, key
}

// TestTwoInstancesPostgres: two servers on one Postgres schema agree.
func TestTwoInstancesPostgres(t *testing.T) { twoInstances(t, postgresArgs(t)) }

// TestTwoInstancesRedis: two servers on one Redis prefix agree, with
// -store redis alone (users, codes and sign-in failures in Redis).
func TestTwoInstancesRedis(t *testing.T) { twoInstances(t, redisArgs(t)) }

// twoInstances runs two servers with the same seed, storage and key: a code
// issued by one is accepted by the other, a reset on one holds on the
// other and after both restart (the seed does not undo it), and the
// budgets and sign-in failures are shared.
func twoInstances(t *testing.T, storage []string) {
	seed, _ := writeSeed(t)
	keyEnv, _ := randomKey()
	env := []string{keyEnv}
	args := append([]string{"-seed", seed}, storage...)
	a, b := start(t, env, args...), start(t, env, args...)

	newPassword := resetAcross(t, a, b, "alice", "alice@example.com")
	for _, s := range []*server{a, b} {
		wantSignIn(t, s, "alice", newPassword, "Old-passw0rd!")
	}
	sharedBudget(t, a, b)
	sharedSignInFailures(t, a, b)

	stop(t, a)
	stop(t, b)
	a, b = start(t, env, args...), start(t, env, args...)
	if !strings.Contains(a.log(), "created=0 existing_left_unchanged=4") {
		t.Errorf("restart: the seed did not leave the 4 users as they were:\n%s", a.log())
	}
	for _, s := range []*server{a, b} {
		wantSignIn(t, s, "alice", newPassword, "Old-passw0rd!")
	}
	stop(t, a)
	stop(t, b)
}

// resetAcross asks for a code on a (which prints it) and confirms it on b.
func resetAcross(t *testing.T, a, b *server, username, to string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := a.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String(username)}); err != nil {
		t.Fatalf("ForgotPassword(%s) on A: %v", username, err)
	}
	code := a.printedCode(t, to)
	newPassword := "N3w-" + strings.ToLower(rand.Text()[:8]) + "!"
	if _, err := b.sdk.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{
		ClientId: aws.String("web"), Username: aws.String(username), ConfirmationCode: aws.String(code), Password: aws.String(newPassword),
	}); err != nil {
		t.Fatalf("ConfirmForgotPassword on B with A's code: %v\nA:\n%s\nB:\n%s", err, a.log(), b.log())
	}
	return newPassword
}

// wantSignIn checks that the new password signs in and the old one does
// not.
func wantSignIn(t *testing.T, s *server, username, newPassword, oldPassword string) {
	t.Helper()
	if err := s.signIn("web", username, newPassword); err != nil {
		t.Errorf("sign-in with the new password on %s: %v", s.addr, err)
	}
	var na *types.NotAuthorizedException
	if err := s.signIn("web", username, oldPassword); !errors.As(err, &na) {
		t.Errorf("sign-in with the old password on %s: %v, want NotAuthorizedException", s.addr, err)
	}
}

// sharedBudget asks for dora's code 5 times across both instances; the
// 6th request, on either, is refused.
func sharedBudget(t *testing.T, a, b *server) {
	t.Helper()
	ctx := context.Background()
	ask := func(s *server) error {
		_, err := s.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("dora")})
		return err
	}
	for i := range 5 {
		if err := ask([]*server{a, b}[i%2]); err != nil {
			t.Fatalf("request %d of dora's budget of 5: %v", i+1, err)
		}
	}
	var le *types.LimitExceededException
	for _, s := range []*server{a, b} {
		if err := ask(s); !errors.As(err, &le) {
			t.Errorf("6th request for dora's code, on %s: %v, want LimitExceededException", s.addr, err)
		}
	}
}

// sharedSignInFailures fails bob's sign-in 3 times on a and twice on b;
// then even his right password is refused on both.
func sharedSignInFailures(t *testing.T, a, b *server) {
	t.Helper()
	for i := range 5 {
		s := []*server{a, a, a, b, b}[i]
		var na *types.NotAuthorizedException
		if err := s.signIn("web", "bob", "Wrong-passw0rd!"); !errors.As(err, &na) || aws.ToString(na.Message) != "Incorrect username or password." {
			t.Fatalf("wrong sign-in %d of bob: %v", i+1, err)
		}
	}
	for _, s := range []*server{a, b} {
		var na *types.NotAuthorizedException
		if err := s.signIn("web", "bob", "Old-passw0rd!"); !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
			t.Errorf("bob's right password after 5 shared failures, on %s: %v, want NotAuthorizedException: Password attempts exceeded", s.addr, err)
		}
	}
}
