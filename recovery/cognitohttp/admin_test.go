package cognitohttp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
)

const (
	adminKeyID  = "AKIDRECOVERYADMIN"
	adminSecret = "admin-secret-access-key-of-the-test"
)

// adminServer serves f's stores through a handler with opts, and returns
// an SDK client signing with creds (nil: anonymous).
func adminServer(t *testing.T, f *fixture, opts cognitohttp.Options, creds aws.CredentialsProvider) *cip.Client {
	t.Helper()
	cfg := f.cfg
	cfg.Outbox = recovery.NewInlineOutbox()
	engine, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = cfg.Logger
	srv := httptest.NewServer(cognitohttp.New(engine, opts))
	t.Cleanup(srv.Close)
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return cip.New(cip.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds, RetryMaxAttempts: 1})
}

func static(id, secret string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test"}, nil
	})
}

func adminReset(sdk *cip.Client, pool, username string) error {
	_, err := sdk.AdminResetUserPassword(context.Background(), &cip.AdminResetUserPasswordInput{
		UserPoolId: aws.String(pool), Username: aws.String(username), ClientMetadata: map[string]string{"by": "test"},
	})
	return err
}

func (f *fixture) status(t *testing.T, username string) recovery.UserStatus {
	t.Helper()
	u, err := f.users.FindUser(context.Background(), "default", recovery.UserQuery{Identifier: username, Key: username})
	if err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func TestSDKAdminResetUserPassword(t *testing.T) {
	f := newFixture(t)
	sdk := adminServer(t, f, cognitohttp.Options{Admin: cognitohttp.StaticCredentials(adminKeyID, adminSecret)}, static(adminKeyID, adminSecret))
	if err := adminReset(sdk, "default", "alice"); err != nil {
		t.Fatalf("AdminResetUserPassword: %v", err)
	}
	if s := f.status(t, "alice"); s != recovery.StatusResetRequired {
		t.Fatalf("status = %s, want RESET_REQUIRED", s)
	}
	var m recovery.Message // the code's message; a password-changed notice follows it
	for _, sent := range f.sender.Messages() {
		if sent.Username == "alice" && sent.Code != "" {
			m = sent
		}
	}
	if m.Code == "" || m.ClientMetadata["by"] != "test" {
		t.Fatalf("message %+v: want one with a code and the request's ClientMetadata", m)
	}
	_, err := sdk.ConfirmForgotPassword(context.Background(), &cip.ConfirmForgotPasswordInput{
		ClientId: aws.String("quiet"), Username: aws.String("alice"), ConfirmationCode: aws.String(m.Code), Password: aws.String("N3w-password!"),
	})
	if err != nil {
		t.Fatalf("ConfirmForgotPassword with the admin reset's code: %v", err)
	}
	if s := f.status(t, "alice"); s != recovery.StatusConfirmed {
		t.Fatalf("status after ConfirmForgotPassword = %s, want CONFIRMED", s)
	}
}

func TestSDKAdminResetUserPasswordErrors(t *testing.T) {
	f := newFixture(t, func(c *recovery.Config) { c.Clients = []recovery.Client{{ID: "quiet"}} }) // every client hides existence
	ctx := context.Background()
	for _, u := range []recovery.User{
		{Username: "dave", Status: recovery.StatusForceChangePassword},
		{Username: "erin", Status: recovery.StatusExternalProvider},
		{Username: "frank", Status: recovery.StatusResetRequired},
		{Username: "gina", Status: recovery.StatusConfirmed, Disabled: true},
	} {
		u.Attributes = map[string]string{"email": u.Username + "@example.com", "email_verified": "true"}
		if _, err := f.users.CreateUser(ctx, "default", u, "h"); err != nil {
			t.Fatal(err)
		}
	}
	sdk := adminServer(t, f, cognitohttp.Options{Admin: cognitohttp.StaticCredentials(adminKeyID, adminSecret)}, static(adminKeyID, adminSecret))
	var (
		notFound      *types.UserNotFoundException
		notAuthorized *types.NotAuthorizedException
		noResource    *types.ResourceNotFoundException
	)
	for _, c := range []struct {
		pool, user string
		target     any
		want       recovery.UserStatus
	}{
		{"default", "nobody", &notFound, ""},
		{"default", "gina", &notAuthorized, recovery.StatusConfirmed},
		{"default", "carol", &notAuthorized, recovery.StatusUnconfirmed},
		{"default", "dave", &notAuthorized, recovery.StatusForceChangePassword},
		{"default", "erin", &notAuthorized, recovery.StatusExternalProvider},
		{"eu-west-1_Other", "alice", &noResource, recovery.StatusConfirmed},
	} {
		if err := adminReset(sdk, c.pool, c.user); !errors.As(err, c.target) {
			t.Errorf("AdminResetUserPassword(%s, %s): %v, want %T", c.pool, c.user, err, c.target)
		}
		if c.want != "" && f.status(t, c.user) != c.want {
			t.Errorf("%s: status %s after a refused reset, want %s", c.user, f.status(t, c.user), c.want)
		}
	}
	if err := adminReset(sdk, "default", "frank"); err != nil {
		t.Errorf("a RESET_REQUIRED user: %v, want a new code", err)
	}
	// frank's code and the notice that his password was reset.
	if ms := f.sender.Messages(); len(ms) != 2 || ms[0].Username != "frank" || ms[0].Code == "" || ms[1].Kind != recovery.DeliveryPasswordChanged {
		t.Errorf("messages sent %+v, want frank's code and his notice", ms)
	}
}

// TestSDKAdminResetUserPasswordAuthentication: without Options.Admin, with
// no signature, a wrong secret or an unknown key, nothing happens.
func TestSDKAdminResetUserPasswordAuthentication(t *testing.T) {
	f := newFixture(t)
	verifier := cognitohttp.Options{Admin: cognitohttp.StaticCredentials(adminKeyID, adminSecret)}
	for _, c := range []struct {
		name  string
		opts  cognitohttp.Options
		creds aws.CredentialsProvider
		want  string
	}{
		{"no authenticator, unsigned", cognitohttp.Options{}, nil, "MissingAuthenticationTokenException"},
		{"no authenticator, signed", cognitohttp.Options{}, static(adminKeyID, adminSecret), "UnrecognizedClientException"},
		{"unsigned", verifier, nil, "MissingAuthenticationTokenException"},
		{"unknown key", verifier, static("AKIDSOMEONEELSE", adminSecret), "UnrecognizedClientException"},
		{"wrong secret", verifier, static(adminKeyID, "not-the-secret"), "InvalidSignatureException"},
		{"host refuses", cognitohttp.Options{Admin: func(*http.Request, []byte) error { return errors.New("not from the admin network") }},
			static(adminKeyID, adminSecret), "AccessDeniedException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := adminReset(adminServer(t, f, c.opts, c.creds), "default", "alice")
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.want {
				t.Fatalf("err = %v, want %s", err, c.want)
			}
			if s := f.status(t, "alice"); s != recovery.StatusConfirmed || f.sender.Len() != 0 {
				t.Fatalf("after a refused request: status %s, %d messages", s, f.sender.Len())
			}
		})
	}
}

// An empty access key or secret would accept what anybody can sign:
// StaticCredentials refuses to make such an authenticator.
func TestStaticCredentialsRefusesEmpty(t *testing.T) {
	for _, c := range [][2]string{{"", ""}, {adminKeyID, ""}, {"", adminSecret}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("StaticCredentials(%q, %d-byte secret) did not panic", c[0], len(c[1]))
				}
			}()
			cognitohttp.StaticCredentials(c[0], c[1])
		}()
	}
}

// TestSigV4Tampering signs a request as the SDK does, then changes one
// thing at a time: each change is refused.
func TestSigV4Tampering(t *testing.T) {
	f := newFixture(t)
	cfg := f.cfg
	cfg.Outbox = recovery.NewInlineOutbox()
	engine, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := cognitohttp.New(engine, cognitohttp.Options{Admin: cognitohttp.StaticCredentials(adminKeyID, adminSecret), Logger: cfg.Logger})
	body := []byte(`{"UserPoolId":"default","Username":"alice"}`)
	sign := func(target string, at time.Time, service string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://cognito.test/", bytes.NewReader(body))
		r.Header.Set("Content-Type", cognitohttp.ContentType)
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
		}
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: adminKeyID, SecretAccessKey: adminSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "eu-west-1", at); err != nil {
			t.Fatal(err)
		}
		r.Body = http.NoBody
		return r
	}
	const target = cognitohttp.TargetPrefix + "AdminResetUserPassword"
	for _, c := range []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"other body", func() *http.Request {
			r := sign(target, time.Now(), "cognito-idp")
			r.Body = readCloser(`{"UserPoolId":"default","Username":"bob"}`)
			return r
		}, http.StatusBadRequest},
		{"expired", func() *http.Request {
			r := sign(target, time.Now().Add(-20*time.Minute), "cognito-idp")
			r.Body = readCloser(string(body))
			return r
		}, http.StatusBadRequest},
		{"other service", func() *http.Request {
			r := sign(target, time.Now(), "dynamodb")
			r.Body = readCloser(string(body))
			return r
		}, http.StatusBadRequest},
		{"other target", func() *http.Request {
			r := sign(cognitohttp.TargetPrefix+"AdminDeleteUser", time.Now(), "cognito-idp")
			r.Header.Set("X-Amz-Target", target)
			r.Body = readCloser(string(body))
			return r
		}, http.StatusBadRequest},
		{"target not signed", func() *http.Request {
			r := sign("", time.Now(), "cognito-idp")
			r.Header.Set("X-Amz-Target", target)
			r.Body = readCloser(string(body))
			return r
		}, http.StatusBadRequest},
		{"untouched, with headers added on the way", func() *http.Request {
			r := sign(target, time.Now(), "cognito-idp")
			r.Header.Set("Accept-Encoding", "gzip")
			r.Header.Set("X-Forwarded-For", "192.0.2.1")
			r.Body = readCloser(string(body))
			return r
		}, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, c.req())
			if w.Code != c.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, c.status)
			}
			if c.status != http.StatusOK && w.Header().Get("x-amzn-ErrorType") != "InvalidSignatureException" {
				t.Fatalf("error %s, want InvalidSignatureException", w.Header().Get("x-amzn-ErrorType"))
			}
		})
	}
	if f.status(t, "bob") != recovery.StatusConfirmed || f.status(t, "alice") != recovery.StatusResetRequired {
		t.Fatalf("only the untouched request may reset alice, and nothing bob")
	}
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// BenchmarkStaticCredentials is the cost of checking one SDK signature.
func BenchmarkStaticCredentials(b *testing.B) {
	body := []byte(`{"UserPoolId":"default","Username":"alice"}`)
	r := httptest.NewRequest(http.MethodPost, "http://cognito.test/", bytes.NewReader(body))
	r.Header.Set("Content-Type", cognitohttp.ContentType)
	r.Header.Set("X-Amz-Target", cognitohttp.TargetPrefix+"AdminResetUserPassword")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: adminKeyID, SecretAccessKey: adminSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "cognito-idp", "eu-west-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	verify := cognitohttp.StaticCredentials(adminKeyID, adminSecret)
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
