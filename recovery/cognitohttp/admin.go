package cognitohttp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/recoverykit/recoverykit/recovery"
)

// AdminAuthenticator decides whether the caller of an admin operation
// (AdminResetUserPassword) may make it. It gets the request and its body,
// already read (the body is not readable from r again), and returns nil to
// allow. An error wrapping ErrMissingAuthentication, ErrUnrecognizedClient
// or ErrInvalidSignature is answered with the exception AWS sends for it;
// any other error with AccessDeniedException, its text kept out of the
// answer. StaticCredentials makes one that checks the AWS SDKs' SigV4
// signatures.
type AdminAuthenticator func(r *http.Request, body []byte) error

// Errors an AdminAuthenticator returns, each answered as AWS answers it.
var (
	// ErrMissingAuthentication: the request carries no credentials
	// (MissingAuthenticationTokenException).
	ErrMissingAuthentication = errors.New("cognitohttp: the request is not signed")
	// ErrUnrecognizedClient: the access key is not one the host accepts
	// (UnrecognizedClientException).
	ErrUnrecognizedClient = errors.New("cognitohttp: unknown access key")
	// ErrInvalidSignature: the signature is malformed, expired, or does
	// not match the request (InvalidSignatureException).
	ErrInvalidSignature = errors.New("cognitohttp: invalid request signature")
)

// The exceptions of the authentication layer, spelled as AWS's JSON
// services spell them (cognito-idp answers an unknown access key with
// UnrecognizedClientException and a wrong signature with
// InvalidSignatureException, both HTTP 400).
const (
	missingAuthentication recovery.ErrorCode = "MissingAuthenticationTokenException"
	unrecognizedClient    recovery.ErrorCode = "UnrecognizedClientException"
	invalidSignature      recovery.ErrorCode = "InvalidSignatureException"
	accessDenied          recovery.ErrorCode = "AccessDeniedException"
)

// authenticateAdmin runs Options.Admin; without one, every caller is
// refused, as one whose credentials are unknown.
func (h *Handler) authenticateAdmin(r *http.Request, body []byte) error {
	var err error
	if h.opts.Admin == nil {
		err = ErrUnrecognizedClient
		if r.Header.Get("Authorization") == "" {
			err = ErrMissingAuthentication
		}
	} else if err = h.opts.Admin(r, body); err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrMissingAuthentication):
		return &apiError{http.StatusBadRequest, missingAuthentication, "Missing Authentication Token"}
	case errors.Is(err, ErrUnrecognizedClient):
		return &apiError{http.StatusBadRequest, unrecognizedClient, "The security token included in the request is invalid."}
	case errors.Is(err, ErrInvalidSignature):
		return &apiError{http.StatusBadRequest, invalidSignature, "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return &apiError{http.StatusBadRequest, accessDenied, "Access denied."}
}

// SigningService is the service name in the credential scope of the
// signatures StaticCredentials accepts: Cognito user pools'.
const SigningService = "cognito-idp"

// MaxSignatureAge is how far a signature's X-Amz-Date may be from the
// server's clock, either way (AWS's own limit), before it is refused as
// expired.
const MaxSignatureAge = 15 * time.Minute

// StaticCredentials returns an AdminAuthenticator that accepts requests
// signed with AWS Signature Version 4 (header form, as the AWS SDKs and
// CLI sign them) by this access key, for the service cognito-idp in any
// region, dated within MaxSignatureAge of now. It recomputes the
// signature with the SDK's own signer over the method, path, query, body
// (its SHA-256) and the headers the request lists as signed, which must
// include Host, X-Amz-Date and X-Amz-Target (so a signature cannot be
// replayed against another operation), and compares it in constant time.
// Serve it over TLS: like AWS, it cannot tell a replay of a captured
// request within MaxSignatureAge from the original.
//
// It panics when accessKeyID or secretAccessKey is empty: a request signed
// with an empty secret is one anybody can sign, so an unset setting must
// stop the server, not open its admin operations.
func StaticCredentials(accessKeyID, secretAccessKey string) AdminAuthenticator {
	if accessKeyID == "" || secretAccessKey == "" {
		panic("cognitohttp: StaticCredentials needs an access key ID and a secret access key; leave Options.Admin nil to refuse admin operations")
	}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}
	return func(r *http.Request, body []byte) error {
		return verifySigV4(r, body, signer, creds, time.Now())
	}
}

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	accessKey, date, region, service string
	signedHeaders                    string
	signature                        string
}

// parseSigV4 parses "AWS4-HMAC-SHA256 Credential=AKID/20260101/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseSigV4(header string) (sigV4Auth, bool) {
	var a sigV4Auth
	rest, ok := strings.CutPrefix(header, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, false
	}
	var credential string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || a.signedHeaders == "" || a.signature == "" {
		return a, false
	}
	a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	return a, true
}

func verifySigV4(r *http.Request, body []byte, signer *v4.Signer, creds aws.Credentials, now time.Time) error {
	header := r.Header.Get("Authorization")
	if header == "" {
		return ErrMissingAuthentication
	}
	a, ok := parseSigV4(header)
	if !ok {
		return ErrInvalidSignature
	}
	if subtle.ConstantTimeCompare([]byte(a.accessKey), []byte(creds.AccessKeyID)) != 1 {
		return ErrUnrecognizedClient
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || a.service != SigningService || signedAt.Format("20060102") != a.date ||
		now.Sub(signedAt).Abs() > MaxSignatureAge {
		return ErrInvalidSignature
	}
	signed := strings.Split(a.signedHeaders, ";")
	for _, h := range []string{"host", "x-amz-date", "x-amz-target"} {
		if !slices.Contains(signed, h) {
			return ErrInvalidSignature
		}
	}
	// The signer signs every header it is given (but a few it ignores), and
	// a server sees headers the client's signer did not (Accept-Encoding
	// from the transport, X-Forwarded-For from proxies): so it is given
	// exactly those the client listed.
	u := *r.URL
	again := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = int64(len(body))
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), a.service, a.region, signedAt); err != nil {
		return ErrInvalidSignature
	}
	want, ok := parseSigV4(again.Header.Get("Authorization"))
	if !ok || want.signedHeaders != a.signedHeaders ||
		subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return ErrInvalidSignature
	}
	return nil
}

// adminResetUserPasswordInput is AdminResetUserPassword's request.
type adminResetUserPasswordInput struct {
	UserPoolID     string            `json:"UserPoolId"`
	Username       string            `json:"Username"`
	ClientMetadata map[string]string `json:"ClientMetadata"`
}

// adminResetUserPassword serves AdminResetUserPassword for an
// authenticated caller.
func (h *Handler) adminResetUserPassword(r *http.Request, body []byte) (any, error) {
	if err := h.authenticateAdmin(r, body); err != nil {
		return nil, err
	}
	var in adminResetUserPasswordInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	err := h.engine.AdminResetUserPassword(r.Context(), recovery.AdminResetRequest{
		UserPoolID: in.UserPoolID, Username: in.Username, ClientMetadata: in.ClientMetadata,
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
