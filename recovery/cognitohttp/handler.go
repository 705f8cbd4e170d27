// Package cognitohttp serves the recovery engine over Amazon Cognito's own
// wire protocol (AWS JSON 1.1), so clients written against Cognito — the AWS
// SDKs, the AWS CLI, Amplify — reach an embedded engine unchanged:
//
//	http.Handle("/", cognitohttp.New(engine, cognitohttp.Options{}))
//
// and point the client's endpoint at it. Requests are POST / with
// X-Amz-Target: AWSCognitoIdentityProviderService.ForgotPassword or
// .ConfirmForgotPassword; responses and errors are shaped exactly as the SDKs
// decode them (status, x-amzn-ErrorType and {"__type", "message"}), so an SDK
// caller gets its typed exceptions. Both operations are unauthenticated, as in
// Cognito: an Authorization (SigV4) header is ignored.
//
// AdminResetUserPassword is served too, to callers that Options.Admin
// authenticates (in Cognito, IAM-signed requests): without it every admin
// request is refused. StaticCredentials checks the SigV4 signatures the AWS
// SDKs make with an access key.
package cognitohttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
)

// TargetPrefix is the X-Amz-Target prefix of Cognito user pool operations.
const TargetPrefix = "AWSCognitoIdentityProviderService."

// ContentType is the AWS JSON 1.1 media type.
const ContentType = "application/x-amz-json-1.1"

// DefaultMaxBodyBytes bounds a request body: enough for the largest valid
// request (UserContextData may hold two 131,072-character strings).
const DefaultMaxBodyBytes = 1 << 20

// Operation answers an extra X-Amz-Target operation (without the prefix),
// for example InitiateAuth in a demo server. It gets the raw JSON body and
// returns a value to marshal as the response, or an error: a *recovery.Error
// is answered with its Name and Message, anything else as
// InternalErrorException.
type Operation func(ctx context.Context, r *http.Request, body []byte) (any, error)

// Options configure a Handler. The zero value is usable.
type Options struct {
	// MaxBodyBytes bounds request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TrustedProxies are the proxies whose X-Forwarded-For is believed: the
	// request's SourceIP, which the per-IP limit counts, is the right-most
	// address of that header not in these prefixes. Default none: the
	// connection's address is the client's.
	TrustedProxies []netip.Prefix
	// Operations adds targets beyond the two recovery operations.
	Operations map[string]Operation
	// Admin authenticates callers of AdminResetUserPassword, which Cognito
	// serves only to IAM-signed requests: use StaticCredentials for the AWS
	// SDKs' SigV4 signatures, or a function of your own. nil: every admin
	// request is refused (MissingAuthenticationTokenException, or
	// UnrecognizedClientException when it is signed).
	Admin AdminAuthenticator
	// Logger records requests that fail before reaching the engine (the
	// engine logs its own). Default slog.Default().
	Logger *slog.Logger
}

// Handler is an http.Handler for the recovery operations.
type Handler struct {
	engine *recovery.Engine
	opts   Options
}

// New returns a Handler serving engine.
func New(engine *recovery.Engine, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{engine: engine, opts: opts}
}

// Wire shapes, with AWS's member names.
type (
	userContextData struct {
		IPAddress   *string `json:"IpAddress"`
		EncodedData *string `json:"EncodedData"`
	}
	analyticsMetadata struct {
		AnalyticsEndpointID *string `json:"AnalyticsEndpointId"`
	}
	forgotPasswordInput struct {
		ClientID          string             `json:"ClientId"`
		SecretHash        string             `json:"SecretHash"`
		Username          string             `json:"Username"`
		UserContextData   *userContextData   `json:"UserContextData"`
		AnalyticsMetadata *analyticsMetadata `json:"AnalyticsMetadata"`
		ClientMetadata    map[string]string  `json:"ClientMetadata"`
	}
	confirmForgotPasswordInput struct {
		forgotPasswordInput
		ConfirmationCode string `json:"ConfirmationCode"`
		Password         string `json:"Password"`
	}
	codeDeliveryDetails struct {
		AttributeName  string `json:"AttributeName"`
		DeliveryMedium string `json:"DeliveryMedium"`
		Destination    string `json:"Destination"`
	}
	forgotPasswordOutput struct {
		CodeDeliveryDetails codeDeliveryDetails `json:"CodeDeliveryDetails"`
	}
	errorBody struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
)

// The protocol's own exceptions (AWS JSON 1.1), beside the engine's.
const (
	unknownOperation recovery.ErrorCode = "UnknownOperationException"
	serialization    recovery.ErrorCode = "SerializationException"
)

// apiError is an error of the protocol itself, outside the engine's names.
type apiError struct {
	status  int
	name    recovery.ErrorCode
	message string
}

func (e *apiError) Error() string { return string(e.name) + ": " + e.message }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", newRequestID())
	result, err := h.serve(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body, err := json.Marshal(result)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("cognitohttp: encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{http.StatusMethodNotAllowed, unknownOperation, "Only POST is supported."}
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok || op == "" {
		return nil, &apiError{http.StatusBadRequest, unknownOperation, ""}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != ContentType && mt != "application/json" {
			return nil, &apiError{http.StatusUnsupportedMediaType, serialization, "Content-Type must be " + ContentType + " or application/json."}
		}
	}
	var extra Operation
	switch op {
	case "ForgotPassword", "ConfirmForgotPassword", "AdminResetUserPassword":
	default:
		if extra = h.opts.Operations[op]; extra == nil {
			return nil, &apiError{http.StatusBadRequest, unknownOperation, ""}
		}
	}
	body, err := readBody(w, r, h.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	switch op {
	case "ForgotPassword":
		var in forgotPasswordInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		req := recovery.RecoverRequest{
			ClientID: in.ClientID, SecretHash: in.SecretHash, Username: in.Username,
			UserContextData:   userContext(in.UserContextData),
			AnalyticsMetadata: analytics(in.AnalyticsMetadata),
			ClientMetadata:    in.ClientMetadata,
			SourceIP:          SourceIP(r, h.opts.TrustedProxies),
		}
		d, err := h.engine.Recover(ctx, req)
		if err != nil {
			return nil, err
		}
		return forgotPasswordOutput{codeDeliveryDetails{d.AttributeName, string(d.DeliveryMedium), d.Destination}}, nil
	case "ConfirmForgotPassword":
		var in confirmForgotPasswordInput
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		req := recovery.ConfirmRequest{
			ClientID: in.ClientID, SecretHash: in.SecretHash, Username: in.Username,
			ConfirmationCode: in.ConfirmationCode, Password: in.Password,
			UserContextData:   userContext(in.UserContextData),
			AnalyticsMetadata: analytics(in.AnalyticsMetadata),
			ClientMetadata:    in.ClientMetadata,
			SourceIP:          SourceIP(r, h.opts.TrustedProxies),
		}
		if err := h.engine.Confirm(ctx, req); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	case "AdminResetUserPassword":
		return h.adminResetUserPassword(r, body)
	}
	return extra(ctx, r, body)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &apiError{http.StatusRequestEntityTooLarge, serialization, fmt.Sprintf("Request body is larger than %d bytes.", limit)}
	case err != nil:
		return nil, &apiError{http.StatusBadRequest, serialization, "Could not read the request body."}
	}
	return buf.Bytes(), nil
}

// decode parses a request object. An empty body is an empty object, so
// missing fields get the engine's validation messages.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if body = bytes.TrimSpace(body); body[0] != '{' {
		return &apiError{http.StatusBadRequest, serialization, "The request body must be a JSON object."}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// Names the member, never echoes its value.
			return &apiError{http.StatusBadRequest, serialization, fmt.Sprintf("Unexpected %s for member %s.", typeErr.Value, typeErr.Field)}
		}
		return &apiError{http.StatusBadRequest, serialization, "The request body is not valid JSON."}
	}
	return nil
}

func analytics(a *analyticsMetadata) *recovery.AnalyticsMetadata {
	if a == nil {
		return nil
	}
	return &recovery.AnalyticsMetadata{AnalyticsEndpointID: deref(a.AnalyticsEndpointID)}
}

// userContext returns the request's UserContextData as sent. Its
// IpAddress is the caller's claim: the engine counts it only for a client
// with TrustUserContextIP.
func userContext(u *userContextData) *recovery.UserContextData {
	if u == nil {
		return nil
	}
	return &recovery.UserContextData{IPAddress: deref(u.IPAddress), EncodedData: deref(u.EncodedData)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ClientIP is SourceIP as a string ("" when the peer's address cannot be
// read).
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	if a := SourceIP(r, trusted); a.IsValid() {
		return a.String()
	}
	return ""
}

// SourceIP returns the address of the client that made r: the connection's
// peer, or, when the peer is one of the trusted proxies, the right-most
// X-Forwarded-For entry that is not itself a trusted proxy. Entries written
// by untrusted hops are ignored, since the client can forge them. The zero
// Addr means the peer's address could not be read.
func SourceIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return netip.Addr{}
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer.Unmap()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: stop at the last address we trust
		}
		client = a
		if !isTrusted(a) {
			break
		}
	}
	return client.Unmap()
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// writeError answers err in AWS JSON 1.1 form: 400 for every client error,
// 500 for InternalErrorException (as Cognito does), with the name in
// x-amzn-ErrorType and the body.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, name, message := http.StatusInternalServerError, recovery.ErrInternal.Name, recovery.ErrInternal.Message
	var re *recovery.Error
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status, name, message = ae.status, ae.name, ae.message
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, "cognitohttp: bad request",
			slog.String("error", string(name)), slog.String("target", r.Header.Get("X-Amz-Target")))
	case errors.As(err, &re):
		name, message = re.Name, re.Message
		if re.ErrorFault() == "client" {
			status = http.StatusBadRequest
		}
	default:
		// Not from the engine (which logs its own): an extra operation failed.
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "cognitohttp: operation failed",
			slog.String("target", r.Header.Get("X-Amz-Target")), slog.String("cause", err.Error()))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ContentType)
	hdr.Set("x-amzn-ErrorType", string(name))
	if message != "" {
		hdr.Set("x-amzn-ErrorMessage", message)
	}
	body, _ := json.Marshal(errorBody{Type: string(name), Message: message})
	w.WriteHeader(status)
	w.Write(body)
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
