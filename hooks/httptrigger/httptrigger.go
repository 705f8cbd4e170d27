// Package httptrigger calls the engine's hooks over HTTP, for teams that keep
// that logic in another service. Each trigger POSTs Cognito's event JSON to a
// configured URL and reads the response back from the returned event, as a
// Lambda trigger would:
//
//	{"version":"1","triggerSource":"CustomMessage_ForgotPassword","region":"us-east-1",
//	 "userPoolId":"...","userName":"alice","callerContext":{"awsSdkVersion":"recoverykit","clientId":"web"},
//	 "request":{...},"response":{}}
//
// Requests are signed as Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature), like the webhook sender's, so the endpoint can verify
// them with any Standard Webhooks library or recovery/standardwebhooks.
//
// Results map as Cognito maps a Lambda's:
//   - a 2xx whose body carries "errorMessage", or a 4xx whose JSON body
//     carries "errorMessage" (or "message"): the endpoint rejected the
//     request -> UserLambdaValidationException with that message;
//   - a 2xx whose body is not the event JSON, or whose response is invalid ->
//     InvalidLambdaResponseException;
//   - a timeout, a connection error, a 5xx or any other status ->
//     UnexpectedLambdaException.
package httptrigger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// DefaultTimeout is Cognito's limit for synchronous triggers.
const DefaultTimeout = 5 * time.Second

// maxResponse bounds what is read of an endpoint's answer.
const maxResponse = 1 << 20

// Config is one endpoint.
type Config struct {
	// URL receives the POSTed events. Required.
	URL string
	// Secret signs requests (Standard Webhooks). Required: an unsigned
	// hook endpoint could be called by anyone.
	Secret []byte
	// Client sends the requests. Default: a client with no redirects.
	Client *http.Client
	// Timeout bounds one call. Default 5 s.
	Timeout time.Duration
	// Region fills the event's "region". Default: the part of the pool ID
	// before "_" when it looks like a region (us-east-1_abc), else "local".
	Region string
	// Now is the clock for signatures. Default time.Now.
	Now func() time.Time
}

// Trigger calls one endpoint. Its methods implement every hook interface of
// package recovery, so one Trigger can serve as any of them; use one per URL.
type Trigger struct {
	cfg Config
}

var (
	_ recovery.CustomMessageHook = (*Trigger)(nil)
	_ recovery.UserMigrationHook = (*Trigger)(nil)
	_ recovery.RiskCheckHook     = (*Trigger)(nil)
	_ recovery.PostConfirmHook   = (*Trigger)(nil)
)

// New checks cfg and returns a Trigger.
func New(cfg Config) (*Trigger, error) {
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("httptrigger: Config.URL %q is not an http(s) URL", cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("httptrigger: Config.Secret has fewer than 16 bytes: use a random secret of 24 bytes or more (standardwebhooks.ParseSecret reads whsec_ secrets)")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Trigger{cfg: cfg}, nil
}

// Event is Cognito's trigger event. Request and Response are raw so each
// trigger has its own shapes.
type Event struct {
	Version       string          `json:"version"`
	TriggerSource string          `json:"triggerSource"`
	Region        string          `json:"region"`
	UserPoolID    string          `json:"userPoolId"`
	UserName      string          `json:"userName"`
	CallerContext CallerContext   `json:"callerContext"`
	Request       json.RawMessage `json:"request"`
	Response      json.RawMessage `json:"response"`
}

// CallerContext is the event's callerContext.
type CallerContext struct {
	AWSSDKVersion string `json:"awsSdkVersion"`
	ClientID      string `json:"clientId"`
}

// Request shapes, one per trigger.
type (
	// CustomMessageRequest is CustomMessage_ForgotPassword's request.
	CustomMessageRequest struct {
		UserAttributes    map[string]string `json:"userAttributes"`
		CodeParameter     string            `json:"codeParameter"`
		UsernameParameter string            `json:"usernameParameter"`
		LinkParameter     *string           `json:"linkParameter"`
		ClientMetadata    map[string]string `json:"clientMetadata"`
	}
	// CustomMessageResponse is its response.
	CustomMessageResponse struct {
		SMSMessage   *string `json:"smsMessage"`
		EmailMessage *string `json:"emailMessage"`
		EmailSubject *string `json:"emailSubject"`
	}
	// UserMigrationRequest is UserMigration_ForgotPassword's request (no
	// password in this flow).
	UserMigrationRequest struct {
		ValidationData map[string]string `json:"validationData"`
		ClientMetadata map[string]string `json:"clientMetadata"`
	}
	// UserMigrationResponse is its response.
	UserMigrationResponse struct {
		UserAttributes         map[string]string `json:"userAttributes"`
		FinalUserStatus        *string           `json:"finalUserStatus"`
		MessageAction          *string           `json:"messageAction"`
		DesiredDeliveryMediums []string          `json:"desiredDeliveryMediums"`
		ForceAliasCreation     *bool             `json:"forceAliasCreation"`
	}
	// RiskCheckRequest is the request of our RiskCheck trigger.
	RiskCheckRequest struct {
		Operation       string            `json:"operation"`
		UserContextData *UserContextData  `json:"userContextData"`
		ClientMetadata  map[string]string `json:"clientMetadata"`
	}
	// UserContextData is the caller's data, as Cognito names it.
	UserContextData struct {
		IPAddress   string `json:"ipAddress"`
		EncodedData string `json:"encodedData"`
	}
	// RiskCheckResponse is its response: "block": true refuses the request
	// (ForbiddenException).
	RiskCheckResponse struct {
		Block *bool `json:"block"`
	}
	// PostConfirmRequest is PostConfirmation_ConfirmForgotPassword's request.
	PostConfirmRequest struct {
		UserAttributes map[string]string `json:"userAttributes"`
		ClientMetadata map[string]string `json:"clientMetadata"`
	}
)

// CustomMessage implements recovery.CustomMessageHook.
func (t *Trigger) CustomMessage(ctx context.Context, e recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
	var resp CustomMessageResponse
	err := t.call(ctx, e.HookContext, CustomMessageRequest{
		UserAttributes: nonNil(e.UserAttributes), CodeParameter: e.CodeParameter, UsernameParameter: e.UsernameParameter,
		ClientMetadata: nonNil(e.ClientMetadata),
	}, &resp)
	if err != nil {
		return recovery.CustomMessage{}, err
	}
	return recovery.CustomMessage{SMSMessage: deref(resp.SMSMessage), EmailMessage: deref(resp.EmailMessage), EmailSubject: deref(resp.EmailSubject)}, nil
}

// MigrateUser implements recovery.UserMigrationHook. A response without
// userAttributes means the legacy system does not know the user.
func (t *Trigger) MigrateUser(ctx context.Context, e recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
	var resp UserMigrationResponse
	if err := t.call(ctx, e.HookContext, UserMigrationRequest{ValidationData: map[string]string{}, ClientMetadata: nonNil(e.ClientMetadata)}, &resp); err != nil {
		return nil, err
	}
	if len(resp.UserAttributes) == 0 {
		return nil, nil
	}
	mu := &recovery.MigratedUser{
		Attributes:    resp.UserAttributes,
		FinalStatus:   recovery.UserStatus(deref(resp.FinalUserStatus)),
		MessageAction: deref(resp.MessageAction),
	}
	for _, m := range resp.DesiredDeliveryMediums {
		mu.DesiredDeliveryMediums = append(mu.DesiredDeliveryMediums, recovery.DeliveryMedium(m))
	}
	if resp.ForceAliasCreation != nil {
		mu.ForceAliasCreation = *resp.ForceAliasCreation
	}
	return mu, nil
}

// CheckRisk implements recovery.RiskCheckHook.
func (t *Trigger) CheckRisk(ctx context.Context, e recovery.RiskEvent) error {
	req := RiskCheckRequest{Operation: string(e.Operation), ClientMetadata: nonNil(e.ClientMetadata)}
	if e.UserContextData != nil {
		req.UserContextData = &UserContextData{IPAddress: e.UserContextData.IPAddress, EncodedData: e.UserContextData.EncodedData}
	}
	var resp RiskCheckResponse
	if err := t.call(ctx, e.HookContext, req, &resp); err != nil {
		return err
	}
	if resp.Block != nil && *resp.Block {
		return recovery.ErrBlocked
	}
	return nil
}

// PostConfirm implements recovery.PostConfirmHook. The response carries no
// fields, but must still be the event JSON.
func (t *Trigger) PostConfirm(ctx context.Context, e recovery.PostConfirmEvent) error {
	var resp struct{}
	return t.call(ctx, e.HookContext, PostConfirmRequest{UserAttributes: nonNil(e.UserAttributes), ClientMetadata: nonNil(e.ClientMetadata)}, &resp)
}

// errUnreachable marks failures that are UnexpectedLambdaException.
var errUnreachable = errors.New("httptrigger: endpoint failed")

func (t *Trigger) call(ctx context.Context, hc recovery.HookContext, request, response any) error {
	reqJSON, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("httptrigger: encoding the request: %w", err)
	}
	body, err := json.Marshal(Event{
		Version: "1", TriggerSource: hc.TriggerSource, Region: t.region(hc.PoolID), UserPoolID: hc.PoolID, UserName: hc.Username,
		CallerContext: CallerContext{AWSSDKVersion: "recoverykit", ClientID: hc.ClientID},
		Request:       reqJSON, Response: json.RawMessage("{}"),
	})
	if err != nil {
		return fmt.Errorf("httptrigger: encoding the event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	r.Header.Set("Content-Type", "application/json")
	standardwebhooks.SetHeaders(r.Header, t.cfg.Secret, "msg_"+rand.Text(), t.cfg.Now(), body)
	res, err := t.cfg.Client.Do(r)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", errUnreachable, hc.TriggerSource, redactURL(t.cfg.URL), err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%w: reading the answer: %v", errUnreachable, err)
	}
	var lambdaErr struct {
		ErrorMessage *string `json:"errorMessage"`
		Message      *string `json:"message"`
	}
	_ = json.Unmarshal(raw, &lambdaErr)
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if lambdaErr.ErrorMessage != nil {
			return recovery.Reject(*lambdaErr.ErrorMessage)
		}
	case res.StatusCode >= 400 && res.StatusCode < 500 && (lambdaErr.ErrorMessage != nil || lambdaErr.Message != nil):
		msg := lambdaErr.ErrorMessage
		if msg == nil {
			msg = lambdaErr.Message
		}
		return recovery.Reject(*msg)
	default:
		return fmt.Errorf("%w: %s answered %s", errUnreachable, hc.TriggerSource, res.Status)
	}
	var ev struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Response) == 0 || ev.Response[0] != '{' {
		return fmt.Errorf("%w: the answer is not the event JSON with a response object", recovery.ErrInvalidLambdaResponse)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Response))
	if err := dec.Decode(response); err != nil {
		return fmt.Errorf("%w: response: %v", recovery.ErrInvalidLambdaResponse, err)
	}
	return nil
}

// region derives the event's region from a Cognito-style pool ID.
func (t *Trigger) region(pool string) string {
	if t.cfg.Region != "" {
		return t.cfg.Region
	}
	if r, _, ok := strings.Cut(pool, "_"); ok && strings.Count(r, "-") >= 2 {
		return r
	}
	return "local"
}

// redactURL drops a URL's query and user info, which may hold tokens.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			u = u[:scheme+3] + u[at+1:]
		}
	}
	return u
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
