package recovery

import (
	"fmt"
	"log/slog"
	"net/netip"
)

// RecoverRequest is Cognito's ForgotPassword request.
type RecoverRequest struct {
	// ClientID names a configured app client. Required.
	ClientID string
	// SecretHash is Base64(HMAC-SHA256(client secret, Username+ClientID)).
	// Required when the client has a secret.
	SecretHash string
	// Username is the username, a verified alias (email, phone_number,
	// preferred_username) or the user's sub. Required.
	Username string
	// UserContextData carries the end user's IP address and opaque risk
	// data for the RiskCheck hook. The address counts for the per-IP
	// request limit only for a client with TrustUserContextIP.
	UserContextData *UserContextData
	// AnalyticsMetadata is passed to the Observer.
	AnalyticsMetadata *AnalyticsMetadata
	// ClientMetadata is passed verbatim to the hooks this call invokes and
	// is never stored.
	ClientMetadata map[string]string
	// SourceIP is the address the request came from, as your transport saw
	// it (cognitohttp sets it from the connection and your trusted
	// proxies). Not a Cognito field: the per-IP request limit keys on it.
	SourceIP netip.Addr
}

// ConfirmRequest is Cognito's ConfirmForgotPassword request.
type ConfirmRequest struct {
	// ClientID names a configured app client. Required.
	ClientID string
	// SecretHash as in RecoverRequest.
	SecretHash string
	// Username as in RecoverRequest.
	Username string
	// ConfirmationCode is the code the user received. Required.
	ConfirmationCode string
	// Password is the new password. Required.
	Password string
	// UserContextData as in RecoverRequest.
	UserContextData *UserContextData
	// AnalyticsMetadata as in RecoverRequest.
	AnalyticsMetadata *AnalyticsMetadata
	// ClientMetadata as in RecoverRequest.
	ClientMetadata map[string]string
	// SourceIP as in RecoverRequest.
	SourceIP netip.Addr
}

// UserContextData describes the caller for risk checks and rate limits.
type UserContextData struct {
	// IPAddress is the end user's address, as the caller reports it.
	IPAddress string
	// EncodedData is opaque device data for the RiskCheck hook.
	EncodedData string
}

// AnalyticsMetadata is Cognito's analytics pass-through.
type AnalyticsMetadata struct {
	// AnalyticsEndpointID identifies the caller's analytics endpoint.
	AnalyticsEndpointID string
}

// CodeDeliveryDetails says where the code went, with the destination masked
// (a***@e***, +*******0100).
type CodeDeliveryDetails struct {
	// AttributeName is "email" or "phone_number".
	AttributeName string
	// DeliveryMedium is EMAIL or SMS.
	DeliveryMedium DeliveryMedium
	// Destination is the masked address or number.
	Destination string
}

// The request types hold secrets, so their formatted and logged forms leave
// them out: a request that reaches a log line by accident leaks nothing.

// LogValue implements slog.LogValuer without the secret hash.
func (r RecoverRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", r.ClientID), slog.String("username", r.Username))
}

// String describes the request without the secret hash.
func (r RecoverRequest) String() string {
	return fmt.Sprintf("RecoverRequest{ClientID:%q Username:%q SecretHash:%s}", r.ClientID, r.Username, redacted(r.SecretHash))
}

// Format makes every fmt verb print String, so %v, %+v and %#v redact too.
func (r RecoverRequest) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// LogValue implements slog.LogValuer without the code, password or secret hash.
func (r ConfirmRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", r.ClientID), slog.String("username", r.Username))
}

// String describes the request without the code, password or secret hash.
func (r ConfirmRequest) String() string {
	return fmt.Sprintf("ConfirmRequest{ClientID:%q Username:%q SecretHash:%s ConfirmationCode:%s Password:%s}",
		r.ClientID, r.Username, redacted(r.SecretHash), redacted(r.ConfirmationCode), redacted(r.Password))
}

// Format makes every fmt verb print String, so %v, %+v and %#v redact too.
func (r ConfirmRequest) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}
