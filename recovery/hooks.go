package recovery

import (
	"context"
	"time"
)

// Trigger sources, as Cognito names them in hook events and error messages.
const (
	TriggerCustomMessage = "CustomMessage_ForgotPassword"
	TriggerUserMigration = "UserMigration_ForgotPassword"
	TriggerPostConfirm   = "PostConfirmation_ConfirmForgotPassword"
	// TriggerRiskCheck is ours: Cognito's advanced security has no trigger.
	TriggerRiskCheck = "RiskCheck_ForgotPassword"
	// TriggerCustomMessagePasswordChanged is ours too: the custom-message
	// hook's trigger source for the notice that a password was changed
	// (Cognito sends none). Its event has an empty CodeParameter and
	// LinkParameter, and its answer may not hold either placeholder. A
	// hook that answers every trigger with a code message makes the notice
	// fail (EventNoticeFailed); return an empty CustomMessage to keep the
	// template's text.
	TriggerCustomMessagePasswordChanged = "CustomMessage_PasswordChanged"
)

// Operation names the API operations.
type Operation string

// The operations, under their Cognito names.
const (
	OpForgotPassword        Operation = "ForgotPassword"
	OpConfirmForgotPassword Operation = "ConfirmForgotPassword"
	// OpAdminResetUserPassword is Engine.AdminResetUserPassword.
	OpAdminResetUserPassword Operation = "AdminResetUserPassword"
)

// Hooks are the engine's extension points, Cognito's Lambda triggers as Go
// interfaces. Every field is optional. A hook gets Timeout (default 5 s, as
// Cognito) to answer. Errors map as Cognito maps Lambda failures:
//   - an error made by Reject -> UserLambdaValidationException
//     "<trigger> failed with error <message>.";
//   - any other error, a panic, or no answer within Timeout ->
//     UnexpectedLambdaException (the host keeps running; the error's text is
//     logged, not shown to the caller);
//   - output the engine cannot use -> InvalidLambdaResponseException.
type Hooks struct {
	// CustomMessage rewrites the message text (CustomMessage_ForgotPassword,
	// and CustomMessage_PasswordChanged for the password-changed notice).
	CustomMessage CustomMessageHook
	// UserMigration brings in a user the store does not know
	// (UserMigration_ForgotPassword). It needs a UserStore that implements
	// UserCreator.
	UserMigration UserMigrationHook
	// RiskCheck sees every request before any user lookup and may block it
	// (ForbiddenException) by returning ErrBlocked.
	RiskCheck RiskCheckHook
	// PostConfirm runs after a password was reset
	// (PostConfirmation_ConfirmForgotPassword), for example to revoke the
	// user's sessions, which Cognito itself does not do.
	PostConfirm PostConfirmHook
	// Observer receives an Event for every outcome. It is called
	// synchronously and must return quickly; its panics are contained.
	Observer Observer
	// Timeout bounds each hook call. Zero means 5 s.
	Timeout time.Duration
}

// HookContext is what every hook event shares (Cognito's common fields).
type HookContext struct {
	// TriggerSource names the trigger.
	TriggerSource string
	// PoolID is the user pool ID.
	PoolID string
	// ClientID is the calling app client (callerContext.clientId).
	ClientID string
	// Username is the user's username (the identifier as sent, for
	// migration, where no user exists yet).
	Username string
	// ClientMetadata is the request's ClientMetadata, verbatim.
	ClientMetadata map[string]string
}

// CustomMessageEvent is the request of CustomMessage_ForgotPassword, and of
// CustomMessage_PasswordChanged (TriggerSource tells which). The hook never
// sees the code: it writes CodeParameter where the code should go, or
// LinkParameter where a link holding it should.
type CustomMessageEvent struct {
	HookContext
	// UserAttributes are the user's attributes (with "sub").
	UserAttributes map[string]string
	// CodeParameter is the code placeholder, "{####}"; empty for the
	// password-changed notice, which carries no code.
	CodeParameter string
	// LinkParameter is the link placeholder, "{link}", when the pool has
	// Config.LinkBaseURL; empty otherwise and for the notice. It stands
	// for the code, so a message with it needs no CodeParameter.
	LinkParameter string
	// UsernameParameter is the username placeholder, "{username}".
	UsernameParameter string
	// Medium is the channel the message will go by.
	Medium DeliveryMedium
	// Locale is the language the engine picked.
	Locale string
}

// CustomMessage is the response of CustomMessage_ForgotPassword. Empty fields
// keep the template's text. A returned message must contain the code
// placeholder (or the link placeholder, when the event offers one); one
// for CustomMessage_PasswordChanged must contain neither. EmailMessage may
// be HTML up to 20,000 characters, SMSMessage up to 140.
type CustomMessage struct {
	SMSMessage   string
	EmailMessage string
	EmailSubject string
}

// CustomMessageHook is Cognito's CustomMessage_ForgotPassword trigger.
type CustomMessageHook interface {
	CustomMessage(ctx context.Context, e CustomMessageEvent) (CustomMessage, error)
}

// CustomMessageFunc adapts a function to CustomMessageHook.
type CustomMessageFunc func(ctx context.Context, e CustomMessageEvent) (CustomMessage, error)

// CustomMessage calls f.
func (f CustomMessageFunc) CustomMessage(ctx context.Context, e CustomMessageEvent) (CustomMessage, error) {
	return f(ctx, e)
}

// UserMigrationEvent is the request of UserMigration_ForgotPassword: the
// identifier matched no user. There is no password in this flow.
type UserMigrationEvent struct {
	HookContext
}

// MigratedUser is the response of UserMigration_ForgotPassword. A nil
// *MigratedUser means the legacy system does not know the user either.
type MigratedUser struct {
	// Attributes of the new user; include a verified email or phone number
	// (email_verified "true") or the user cannot receive a code.
	// "username" is not an attribute: the user is created with the
	// identifier as username unless Attributes has preferred_username only.
	Attributes map[string]string
	// FinalStatus is CONFIRMED or, by default, RESET_REQUIRED.
	FinalStatus UserStatus
	// MessageAction "SUPPRESS" creates the user and issues no message.
	MessageAction string
	// DesiredDeliveryMediums restricts the channels for this first code;
	// empty means the pool's setting.
	DesiredDeliveryMediums []DeliveryMedium
	// ForceAliasCreation lets the new user take a verified alias from an
	// existing user (the store decides whether it supports that).
	ForceAliasCreation bool
}

// UserMigrationHook is Cognito's UserMigration_ForgotPassword trigger.
type UserMigrationHook interface {
	MigrateUser(ctx context.Context, e UserMigrationEvent) (*MigratedUser, error)
}

// UserMigrationFunc adapts a function to UserMigrationHook.
type UserMigrationFunc func(ctx context.Context, e UserMigrationEvent) (*MigratedUser, error)

// MigrateUser calls f.
func (f UserMigrationFunc) MigrateUser(ctx context.Context, e UserMigrationEvent) (*MigratedUser, error) {
	return f(ctx, e)
}

// RiskEvent is what the RiskCheck hook sees: the caller, before any user
// lookup, so its answer cannot depend on whether the user exists.
type RiskEvent struct {
	HookContext
	// Operation is ForgotPassword or ConfirmForgotPassword.
	Operation Operation
	// UserContextData is the request's caller data (may be nil).
	UserContextData *UserContextData
}

// RiskCheckHook screens requests. Return ErrBlocked (or an error wrapping
// it) to refuse with ForbiddenException, Reject(msg) for a
// UserLambdaValidationException, nil to allow.
type RiskCheckHook interface {
	CheckRisk(ctx context.Context, e RiskEvent) error
}

// RiskCheckFunc adapts a function to RiskCheckHook.
type RiskCheckFunc func(ctx context.Context, e RiskEvent) error

// CheckRisk calls f.
func (f RiskCheckFunc) CheckRisk(ctx context.Context, e RiskEvent) error { return f(ctx, e) }

// PostConfirmEvent is the request of PostConfirmation_ConfirmForgotPassword.
type PostConfirmEvent struct {
	HookContext
	// Sub identifies the user whose password changed.
	Sub string
	// UserAttributes are the user's attributes.
	UserAttributes map[string]string
}

// PostConfirmHook is Cognito's PostConfirmation_ConfirmForgotPassword
// trigger. It runs after the password was changed; its error is reported to
// the caller (as Cognito does) although the change stands.
type PostConfirmHook interface {
	PostConfirm(ctx context.Context, e PostConfirmEvent) error
}

// PostConfirmFunc adapts a function to PostConfirmHook.
type PostConfirmFunc func(ctx context.Context, e PostConfirmEvent) error

// PostConfirm calls f.
func (f PostConfirmFunc) PostConfirm(ctx context.Context, e PostConfirmEvent) error { return f(ctx, e) }

// EventKind classifies an Event.
type EventKind string

// Event kinds.
const (
	// EventRequested: Recover or AdminResetUserPassword issued a code for
	// a real user and handed it to delivery.
	EventRequested EventKind = "requested"
	// EventDelivered: the sender accepted the message.
	EventDelivered EventKind = "delivered"
	// EventDeliveryFailed: the message could not be delivered (the sender
	// failed, the outbox was full or gave up); Err says why, without the
	// code. A code the outbox gave up on was revoked.
	EventDeliveryFailed EventKind = "delivery_failed"
	// EventDeliveryExpired: a delivery waited past its code's expiry and
	// was dropped unsent.
	EventDeliveryExpired EventKind = "delivery_expired"
	// EventNoticeDelivered: the sender accepted a password-changed notice
	// (Medium says which channel; Operation is the one that changed it).
	EventNoticeDelivered EventKind = "notice_delivered"
	// EventNoticeFailed: a password-changed notice was not delivered (the
	// sender or the hook failed, the outbox refused or gave up on it, or it
	// waited past NoticeLifetime); Err says why. The password change
	// stands, and there is no code to revoke.
	EventNoticeFailed EventKind = "notice_failed"
	// EventDeliverySuperseded: a delivery waited until its code was no
	// longer the user's current one (a newer code, a completed reset, a
	// revocation) and was dropped unsent. See CodeInspector.
	EventDeliverySuperseded EventKind = "delivery_superseded"
	// EventConfirmed: a password was reset (Confirm).
	EventConfirmed EventKind = "confirmed"
	// EventRejected: the request failed; Reason holds the error name.
	EventRejected EventKind = "rejected"
	// EventRateLimited: TooManyRequests, LimitExceeded or
	// TooManyFailedAttempts; Reason holds the error name.
	EventRateLimited EventKind = "rate_limited"
	// EventSimulated: the client hides user existence and the answer was
	// simulated (unknown user, or one that cannot receive a code).
	EventSimulated EventKind = "simulated"
)

// Event reports an outcome to the Observer. It never carries a code, a
// password, a secret or a hash.
type Event struct {
	Kind      EventKind
	Operation Operation
	PoolID    string
	// ClientID is the app client's ID, or empty when the request named no
	// configured client.
	ClientID string
	// Sub is the user's sub when a user was found; empty otherwise.
	Sub string
	// Medium is the delivery medium, when one was chosen.
	Medium DeliveryMedium
	// Reason is the error's name for rejected, rate-limited and failed
	// delivery events.
	Reason ErrorCode
	// Err is the error, for rejected events (its cause may say more).
	Err error
	// AnalyticsEndpointID is from the request's AnalyticsMetadata.
	AnalyticsEndpointID string
	// Time is when the request started; Duration how long it took.
	Time     time.Time
	Duration time.Duration
}

// Observer receives events. Use it for metrics and audit trails.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// OperationTracer is an optional ability of an Observer: the engine calls
// TraceOperation when a request starts, uses the context it returns for the
// whole request (so spans of store calls nest under it), and calls end with
// the outcome ("ok" or the error name) when the request is done. An
// OpenTelemetry adapter starts and ends a span this way.
type OperationTracer interface {
	TraceOperation(ctx context.Context, op Operation, clientID string) (context.Context, func(outcome string))
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }
