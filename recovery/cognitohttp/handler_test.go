package cognitohttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

const clientSecret = "s3cr3t-of-the-private-client"

type fixture struct {
	srv    *httptest.Server
	sdk    *cip.Client
	sender *capturesender.Sender
	users  *memstore.UserStore
	cfg    recovery.Config
}

func newFixture(t testing.TB, mutate ...func(*recovery.Config)) *fixture {
	t.Helper()
	f := &fixture{sender: capturesender.New(), users: memstore.NewUserStore()}
	ctx := context.Background()
	for _, u := range []recovery.User{
		{Username: "alice", Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"}},
		{Username: "bob", Attributes: map[string]string{"phone_number": "+15555550100", "phone_number_verified": "true"}},
		{Username: "carol", Status: recovery.StatusUnconfirmed, Attributes: map[string]string{}},
	} {
		if u.Status == "" {
			u.Status = recovery.StatusConfirmed
		}
		h, _ := recoverytest.InsecureHasher{}.Hash("Old-passw0rd!")
		if _, err := f.users.CreateUser(ctx, "default", u, h); err != nil {
			t.Fatal(err)
		}
	}
	f.cfg = recovery.Config{
		Users: f.users, Codes: memstore.NewCodeStore(), Sender: f.sender,
		Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}, {ID: "private", Secret: clientSecret, RevealUserExistence: true}, {ID: "quiet"}},
		Outbox:  recovery.NewInlineOutbox(), // the tests read codes right after ForgotPassword
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte(strings.Repeat("k", 32))}},
		Hasher:  recoverytest.InsecureHasher{},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mutate {
		m(&f.cfg)
	}
	engine, err := recovery.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(cognitohttp.New(engine, cognitohttp.Options{Logger: f.cfg.Logger}))
	t.Cleanup(f.srv.Close)
	f.sdk = cip.New(cip.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.srv.URL),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
	return f
}

func (f *fixture) forgot(username string) (*cip.ForgotPasswordOutput, error) {
	return f.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String(username)})
}

func (f *fixture) confirm(username, code, password string) error {
	_, err := f.sdk.ConfirmForgotPassword(context.Background(), &cip.ConfirmForgotPasswordInput{
		ClientId: aws.String("web"), Username: aws.String(username), ConfirmationCode: aws.String(code), Password: aws.String(password),
	})
	return err
}

func TestSDKResetByEmailAndSMS(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ user, medium, attr, dest string }{
		{"alice", "EMAIL", "email", "a***@e***"},
		{"bob", "SMS", "phone_number", "+*******0100"},
	} {
		out, err := f.forgot(tc.user)
		if err != nil {
			t.Fatal(err)
		}
		d := out.CodeDeliveryDetails
		if string(d.DeliveryMedium) != tc.medium || aws.ToString(d.AttributeName) != tc.attr || aws.ToString(d.Destination) != tc.dest {
			t.Fatalf("%s: details %+v", tc.user, d)
		}
		code, _ := f.sender.LastCode(tc.user)
		if err := f.confirm(tc.user, code, "N3w-password!"); err != nil {
			t.Fatal(err)
		}
		var expired *types.ExpiredCodeException
		if err := f.confirm(tc.user, code, "N3w-password!"); !errors.As(err, &expired) {
			t.Fatalf("replay: %v, want *types.ExpiredCodeException", err)
		}
	}
}

func TestSDKSecretHashAndMetadata(t *testing.T) {
	f := newFixture(t)
	_, err := f.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{
		ClientId: aws.String("private"), Username: aws.String("alice"),
		SecretHash:        aws.String(recovery.SecretHash(clientSecret, "alice", "private")),
		UserContextData:   &types.UserContextDataType{IpAddress: aws.String("192.0.2.7"), EncodedData: aws.String("x")},
		AnalyticsMetadata: &types.AnalyticsMetadataType{AnalyticsEndpointId: aws.String("ep")},
		ClientMetadata:    map[string]string{"locale": "en"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var na *types.NotAuthorizedException
	_, err = f.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{ClientId: aws.String("private"), Username: aws.String("alice")})
	if !errors.As(err, &na) || aws.ToString(na.Message) != "Client private is configured for secret but secret was not received" {
		t.Fatalf("err = %v", err)
	}
}

// TestSDKTypedErrors: one case per error name reachable over the wire, each
// decoded by the SDK into its typed exception.
func TestSDKTypedErrors(t *testing.T) {
	ctx := context.Background()
	type check func(error) bool
	is := func(target any) check {
		return func(err error) bool { return errors.As(err, target) }
	}
	for _, tc := range []struct {
		name   string
		mutate func(*recovery.Config)
		call   func(f *fixture) error
		want   check
	}{
		{"InvalidParameterException", nil, func(f *fixture) error { _, err := f.forgot("has space"); return err }, is(new(*types.InvalidParameterException))},
		{"InvalidParameterException/no channel", nil, func(f *fixture) error { _, err := f.forgot("carol"); return err }, is(new(*types.InvalidParameterException))},
		{"ResourceNotFoundException", nil, func(f *fixture) error {
			_, err := f.sdk.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String("nope"), Username: aws.String("alice")})
			return err
		}, is(new(*types.ResourceNotFoundException))},
		{"NotAuthorizedException", func(c *recovery.Config) { c.AccountRecovery = []recovery.RecoveryMechanism{recovery.AdminOnly} },
			func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.NotAuthorizedException))},
		{"UserNotFoundException", nil, func(f *fixture) error { _, err := f.forgot("ghost"); return err }, is(new(*types.UserNotFoundException))},
		{"UserNotFoundException/confirm", nil, func(f *fixture) error { return f.confirm("ghost", "123456", "N3w-password!") }, is(new(*types.UserNotFoundException))},
		{"UserNotConfirmedException", nil, func(f *fixture) error { return f.confirm("carol", "123456", "N3w-password!") }, is(new(*types.UserNotConfirmedException))},
		{"LimitExceededException", nil, func(f *fixture) error {
			var err error
			for range 6 {
				_, err = f.forgot("alice")
			}
			return err
		}, is(new(*types.LimitExceededException))},
		{"TooManyRequestsException", func(c *recovery.Config) {
			c.Limiter = memstore.NewLimiter()
			c.Policy.ClientRequests = recovery.Rate{Limit: 1, Window: time.Hour}
		}, func(f *fixture) error { f.forgot("alice"); _, err := f.forgot("alice"); return err }, is(new(*types.TooManyRequestsException))},
		{"CodeMismatchException", nil, func(f *fixture) error { f.forgot("alice"); return f.confirm("alice", "x", "N3w-password!") }, is(new(*types.CodeMismatchException))},
		{"ExpiredCodeException", nil, func(f *fixture) error { return f.confirm("alice", "123456", "N3w-password!") }, is(new(*types.ExpiredCodeException))},
		{"InvalidPasswordException", nil, func(f *fixture) error {
			f.forgot("alice")
			code, _ := f.sender.LastCode("alice")
			return f.confirm("alice", code, "weak")
		}, is(new(*types.InvalidPasswordException))},
		{"PasswordHistoryPolicyViolationException", func(c *recovery.Config) {
			c.PasswordPolicy = recovery.PasswordPolicy{HistorySize: 1}
		}, func(f *fixture) error {
			f.forgot("alice")
			code, _ := f.sender.LastCode("alice")
			return f.confirm("alice", code, "Old-passw0rd!")
		}, is(new(*types.PasswordHistoryPolicyViolationException))},
		{"TooManyFailedAttemptsException", func(c *recovery.Config) {
			c.Policy = recovery.Policy{Budget: 100, CodeDigits: 8, MaxFailures: 2}
		}, func(f *fixture) error {
			f.forgot("alice")
			f.confirm("alice", "1", "N3w-password!")
			f.confirm("alice", "1", "N3w-password!")
			return f.confirm("alice", "1", "N3w-password!")
		}, is(new(*types.TooManyFailedAttemptsException))},
		{"CodeDeliveryFailureException", func(c *recovery.Config) {
			c.Sender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return errors.New("down") })
		}, func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.CodeDeliveryFailureException))},
		{"InvalidEmailRoleAccessPolicyException", func(c *recovery.Config) {
			c.Sender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return recovery.ErrDeliveryForbidden })
		}, func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.InvalidEmailRoleAccessPolicyException))},
		{"InvalidSmsRoleAccessPolicyException", func(c *recovery.Config) {
			c.Sender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return recovery.ErrDeliveryForbidden })
		}, func(f *fixture) error { _, err := f.forgot("bob"); return err }, is(new(*types.InvalidSmsRoleAccessPolicyException))},
		{"InvalidSmsRoleTrustRelationshipException", func(c *recovery.Config) {
			c.Sender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return recovery.ErrDeliveryUnauthorized })
		}, func(f *fixture) error { _, err := f.forgot("bob"); return err }, is(new(*types.InvalidSmsRoleTrustRelationshipException))},
		{"UserLambdaValidationException", func(c *recovery.Config) {
			c.Hooks.RiskCheck = recovery.RiskCheckFunc(func(context.Context, recovery.RiskEvent) error { return recovery.Reject("nope") })
		}, func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.UserLambdaValidationException))},
		{"UnexpectedLambdaException", func(c *recovery.Config) {
			c.Hooks.RiskCheck = recovery.RiskCheckFunc(func(context.Context, recovery.RiskEvent) error { panic("bug") })
		}, func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.UnexpectedLambdaException))},
		{"InvalidLambdaResponseException", func(c *recovery.Config) {
			c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
				return recovery.CustomMessage{EmailMessage: "no placeholder"}, nil
			})
		}, func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.InvalidLambdaResponseException))},
		{"ForbiddenException", func(c *recovery.Config) {
			c.Hooks.RiskCheck = recovery.RiskCheckFunc(func(context.Context, recovery.RiskEvent) error { return recovery.ErrBlocked })
		}, func(f *fixture) error { return f.confirm("alice", "1", "N3w-password!") }, is(new(*types.ForbiddenException))},
		{"OperationNotEnabledException", func(c *recovery.Config) { c.RecoveryDisabled = true },
			func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.OperationNotEnabledException))},
		{"InternalErrorException", func(c *recovery.Config) { c.Codes = brokenCodes{} },
			func(f *fixture) error { _, err := f.forgot("alice"); return err }, is(new(*types.InternalErrorException))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*recovery.Config)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			f := newFixture(t, mutate...)
			err := tc.call(f)
			if err == nil || !tc.want(err) {
				t.Fatalf("err = %T %v", err, err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != strings.Split(tc.name, "/")[0] {
				t.Fatalf("error code %v", err)
			}
		})
	}
}

type brokenCodes struct{}

func (brokenCodes) Issue(context.Context, recovery.IssueParams) (recovery.Outcome, error) {
	return 0, errors.New("store down")
}
func (brokenCodes) Check(context.Context, recovery.CheckParams) (recovery.Outcome, error) {
	return 0, errors.New("store down")
}
func (brokenCodes) Revoke(context.Context, string, string, recovery.KeyedHash) error { return nil }
func (brokenCodes) Restore(context.Context, recovery.RestoreParams) error            { return errors.New("down") }

func post(t *testing.T, url, target, contentType, body string) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=ignored")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestWireProtocol(t *testing.T) {
	f := newFixture(t)
	const fp = cognitohttp.TargetPrefix + "ForgotPassword"
	for _, tc := range []struct {
		name, target, ctype, body string
		status                    int
		errType                   string
	}{
		{"success", fp, cognitohttp.ContentType, `{"ClientId":"web","Username":"alice"}`, 200, ""},
		{"plain json accepted", fp, "application/json; charset=utf-8", `{"ClientId":"web","Username":"alice"}`, 200, ""},
		{"unknown operation", cognitohttp.TargetPrefix + "DeleteUserPool", cognitohttp.ContentType, `{}`, 400, "UnknownOperationException"},
		{"no target", "", cognitohttp.ContentType, `{}`, 400, "UnknownOperationException"},
		{"malformed json", fp, cognitohttp.ContentType, `{"ClientId":`, 400, "SerializationException"},
		{"not an object", fp, cognitohttp.ContentType, `[1,2]`, 400, "SerializationException"},
		{"wrong member type", fp, cognitohttp.ContentType, `{"ClientId":5}`, 400, "SerializationException"},
		{"wrong media type", fp, "text/plain", `{}`, 415, "SerializationException"},
		{"empty body validates", fp, cognitohttp.ContentType, ``, 400, "InvalidParameterException"},
		{"client error is 400", fp, cognitohttp.ContentType, `{"ClientId":"web","Username":"ghost"}`, 400, "UserNotFoundException"},
		{"too large", fp, cognitohttp.ContentType, `{"ClientId":"web","Username":"` + strings.Repeat("a", cognitohttp.DefaultMaxBodyBytes) + `"}`, 413, "SerializationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, f.srv.URL, tc.target, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %v)", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != cognitohttp.ContentType {
				t.Fatalf("headers %v", resp.Header)
			}
			if got := resp.Header.Get("x-amzn-ErrorType"); got != tc.errType || (tc.errType != "" && body["__type"] != tc.errType) {
				t.Fatalf("error type header %q body %v, want %q", got, body, tc.errType)
			}
		})
	}
	resp, err := http.Get(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestInternalErrorIs500(t *testing.T) {
	f := newFixture(t, func(c *recovery.Config) { c.Codes = brokenCodes{} })
	resp, body := post(t, f.srv.URL, cognitohttp.TargetPrefix+"ForgotPassword", cognitohttp.ContentType, `{"ClientId":"web","Username":"alice"}`)
	if resp.StatusCode != 500 || body["__type"] != "InternalErrorException" || strings.Contains(body["message"], "store down") {
		t.Fatalf("status %d body %v", resp.StatusCode, body)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct{ remote, xff, want string }{
		{"198.51.100.9:4000", "", "198.51.100.9"},
		{"198.51.100.9:4000", "203.0.113.5", "198.51.100.9"}, // untrusted peer: header ignored
		{"10.1.2.3:4000", "203.0.113.5", "203.0.113.5"},
		{"10.1.2.3:4000", "6.6.6.6, 203.0.113.5, 10.9.9.9", "203.0.113.5"}, // right-most untrusted
		{"10.1.2.3:4000", "", "10.1.2.3"},
		{"10.1.2.3:4000", "garbage", "10.1.2.3"},
		{"[::1]:4000", "2001:db8::1", "2001:db8::1"},
		{"[::ffff:198.51.100.9]:80", "", "198.51.100.9"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := cognitohttp.ClientIP(r, trusted); got != tc.want {
			t.Errorf("ClientIP(%s, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestIPFromConnectionFeedsTheLimiter: without UserContextData the
// connection address is limited per IP.
func TestIPFromConnectionFeedsTheLimiter(t *testing.T) {
	f := newFixture(t, func(c *recovery.Config) {
		c.Limiter = memstore.NewLimiter()
		c.Policy.IPRequests = recovery.Rate{Limit: 2, Window: time.Hour}
	})
	f.forgot("alice")
	f.forgot("bob")
	var tmr *types.TooManyRequestsException
	if _, err := f.forgot("alice"); !errors.As(err, &tmr) {
		t.Fatalf("third request from one address: %v", err)
	}
}

// TestMadeUpIpAddressesDoNotBypassTheLimiter: a client that is not trusted
// to report addresses cannot spread its requests over made-up ones, nor
// send values the limiter's store would choke on.
func TestMadeUpIpAddressesDoNotBypassTheLimiter(t *testing.T) {
	f := newFixture(t, func(c *recovery.Config) {
		c.Limiter = memstore.NewLimiter()
		c.Policy.IPRequests = recovery.Rate{Limit: 3, Window: time.Hour}
	})
	var tmr *types.TooManyRequestsException
	for i, ip := range []string{"10.0.0.1", "not-an-ip-7", strings.Repeat("9", 4096), "10.0.0.2"} {
		_, err := f.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{
			ClientId: aws.String("web"), Username: aws.String("alice"),
			UserContextData: &types.UserContextDataType{IpAddress: aws.String(ip)},
		})
		if i < 3 && err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if i == 3 && !errors.As(err, &tmr) {
			t.Fatalf("fourth request from one connection address, with a made-up IpAddress: %v, want TooManyRequestsException", err)
		}
	}
}

// TestAnswersHideExistence: over the wire too, no single ForgotPassword
// answer tells an existing identifier from a missing one: same status,
// same headers, same body members, and details that follow one rule.
func TestAnswersHideExistence(t *testing.T) {
	recoverytest.TestAnswersHideExistence(t, func(t *testing.T) (recovery.UserStore, recovery.CodeStore) {
		return memstore.NewUserStore(), memstore.NewCodeStore()
	}, overHTTP)
}

// overHTTP is a recoverytest.Transport through cognitohttp.Handler.
func overHTTP(t *testing.T, e *recovery.Engine) func(context.Context, recovery.RecoverRequest) recoverytest.Answer {
	srv := httptest.NewServer(cognitohttp.New(e, cognitohttp.Options{}))
	t.Cleanup(srv.Close)
	return func(ctx context.Context, req recovery.RecoverRequest) recoverytest.Answer {
		body, _ := json.Marshal(map[string]string{"ClientId": req.ClientID, "Username": req.Username})
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", cognitohttp.TargetPrefix+"ForgotPassword")
		r.Header.Set("Content-Type", cognitohttp.ContentType)
		resp, err := srv.Client().Do(r)
		if err != nil {
			return recoverytest.Answer{Error: err.Error()}
		}
		defer resp.Body.Close()
		var out map[string]map[string]string
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK {
			return recoverytest.Answer{Error: fmt.Sprintf("%d %s", resp.StatusCode, raw)}
		}
		var names []string
		for h := range resp.Header {
			if h != "Date" && h != "Content-Length" {
				names = append(names, h)
			}
		}
		for k, v := range out {
			names = append(names, "body:"+k)
			for m := range v {
				names = append(names, "body:"+k+"."+m)
			}
		}
		sort.Strings(names)
		d := out["CodeDeliveryDetails"]
		return recoverytest.Answer{
			Details: recovery.CodeDeliveryDetails{AttributeName: d["AttributeName"], DeliveryMedium: recovery.DeliveryMedium(d["DeliveryMedium"]), Destination: d["Destination"]},
			Shape:   fmt.Sprint(resp.StatusCode, names),
		}
	}
}
