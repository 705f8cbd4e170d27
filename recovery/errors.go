package recovery

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrorCode is the name of an Amazon Cognito exception, spelled as the wire
// protocol and the AWS SDKs spell it. Error.Name holds one.
type ErrorCode string

// The error codes the engine answers with, and the two a UserCreator
// reports.
const (
	InvalidParameterException                ErrorCode = "InvalidParameterException"
	ResourceNotFoundException                ErrorCode = "ResourceNotFoundException"
	NotAuthorizedException                   ErrorCode = "NotAuthorizedException"
	TooManyRequestsException                 ErrorCode = "TooManyRequestsException"
	UserNotFoundException                    ErrorCode = "UserNotFoundException"
	UserNotConfirmedException                ErrorCode = "UserNotConfirmedException"
	LimitExceededException                   ErrorCode = "LimitExceededException"
	TooManyFailedAttemptsException           ErrorCode = "TooManyFailedAttemptsException"
	CodeMismatchException                    ErrorCode = "CodeMismatchException"
	ExpiredCodeException                     ErrorCode = "ExpiredCodeException"
	InvalidPasswordException                 ErrorCode = "InvalidPasswordException"
	PasswordHistoryPolicyViolationException  ErrorCode = "PasswordHistoryPolicyViolationException"
	CodeDeliveryFailureException             ErrorCode = "CodeDeliveryFailureException"
	InvalidSmsRoleAccessPolicyException      ErrorCode = "InvalidSmsRoleAccessPolicyException"
	InvalidSmsRoleTrustRelationshipException ErrorCode = "InvalidSmsRoleTrustRelationshipException"
	InvalidEmailRoleAccessPolicyException    ErrorCode = "InvalidEmailRoleAccessPolicyException"
	OperationNotEnabledException             ErrorCode = "OperationNotEnabledException"
	ForbiddenException                       ErrorCode = "ForbiddenException"
	UserLambdaValidationException            ErrorCode = "UserLambdaValidationException"
	UnexpectedLambdaException                ErrorCode = "UnexpectedLambdaException"
	InvalidLambdaResponseException           ErrorCode = "InvalidLambdaResponseException"
	InternalErrorException                   ErrorCode = "InternalErrorException"
	UsernameExistsException                  ErrorCode = "UsernameExistsException"
	AliasExistsException                     ErrorCode = "AliasExistsException"
)

// answerCodes are the codes Recover and Confirm answer with, in the order
// of the constants.
var answerCodes = []ErrorCode{
	InvalidParameterException, ResourceNotFoundException, NotAuthorizedException, TooManyRequestsException,
	UserNotFoundException, UserNotConfirmedException, LimitExceededException, TooManyFailedAttemptsException,
	CodeMismatchException, ExpiredCodeException, InvalidPasswordException, PasswordHistoryPolicyViolationException,
	CodeDeliveryFailureException, InvalidSmsRoleAccessPolicyException, InvalidSmsRoleTrustRelationshipException,
	InvalidEmailRoleAccessPolicyException, OperationNotEnabledException, ForbiddenException,
	UserLambdaValidationException, UnexpectedLambdaException, InvalidLambdaResponseException, InternalErrorException,
}

// errorCodes are all the constants, for Known.
var errorCodes = func() map[ErrorCode]bool {
	m := map[ErrorCode]bool{UsernameExistsException: true, AliasExistsException: true}
	for _, c := range answerCodes {
		m[c] = true
	}
	return m
}()

// AnswerCodes returns the codes Recover and Confirm can answer with, in a
// fixed order, for a host that checks that a mapping of its own (to HTTP
// statuses, to messages) covers every one. UsernameExistsException and
// AliasExistsException, which a UserCreator reports, are not among them.
func AnswerCodes() []ErrorCode { return slices.Clone(answerCodes) }

// Known reports whether c is one of the ErrorCode constants, for code that
// must keep a value from a bounded set (metric attributes, say).
func (c ErrorCode) Known() bool { return errorCodes[c] }

// RateLimited reports whether c refuses a request for going over a limit:
// TooManyRequests, LimitExceeded or TooManyFailedAttempts.
func (c ErrorCode) RateLimited() bool {
	switch c {
	case TooManyRequestsException, LimitExceededException, TooManyFailedAttemptsException:
		return true
	}
	return false
}

// Error is the one error type the engine returns. Name is the exact Amazon
// Cognito exception name (for example CodeMismatchException), so a transport
// can map it one to one; Message is safe to show to the caller and never
// holds a code, a password, a secret or a hash.
//
// Test for a kind with errors.Is against the sentinels below:
//
//	if errors.Is(err, recovery.ErrCodeMismatch) { ... }
//
// and read the name and message with errors.As. The cause of an
// InternalErrorException (a store failure, say) is reachable through
// errors.Unwrap for logging; it is never part of Error() or Message.
type Error struct {
	// Name is the Cognito exception name.
	Name ErrorCode
	// Message is the client-safe explanation.
	Message string

	cause      error
	violations []Violation // for a validation error
}

// Error returns "<Name>: <Message>".
func (e *Error) Error() string { return string(e.Name) + ": " + e.Message }

// Unwrap returns the underlying cause, if any (set for InternalErrorException
// and for hook and delivery failures).
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same Name, so that
// errors.Is(err, ErrCodeMismatch) holds for every code-mismatch error whatever
// its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Name == e.Name
}

// ErrorCode returns Name; it matches smithy-go's APIError method, so code that
// handles AWS SDK errors can handle these the same way.
func (e *Error) ErrorCode() string { return string(e.Name) }

// ErrorMessage returns Message (smithy-go's APIError method).
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault reports "server" for InternalErrorException and "client" for
// every other error, as smithy-go's ErrorFault does.
func (e *Error) ErrorFault() string {
	if e.Name == InternalErrorException {
		return "server"
	}
	return "client"
}

// Sentinels for errors.Is. Each corresponds to exactly one Cognito exception
// name; the message shown here is the default one, some situations use a more
// specific message under the same name.
var (
	// ErrInvalidParameter: a request field broke a constraint, or the user
	// has no verified email or phone number to receive a code.
	ErrInvalidParameter = &Error{Name: InvalidParameterException, Message: "Invalid parameter."}
	// ErrResourceNotFound: the ClientID names no configured app client.
	ErrResourceNotFound = &Error{Name: ResourceNotFoundException, Message: "Resource not found."}
	// ErrNotAuthorized: secret hash missing or wrong, recovery is admin-only,
	// or the user's state does not allow a reset (clients that reveal user
	// existence only).
	ErrNotAuthorized = &Error{Name: NotAuthorizedException, Message: "Not authorized."}
	// ErrTooManyRequests: the optional per-client or per-IP request limit was hit.
	ErrTooManyRequests = &Error{Name: TooManyRequestsException, Message: "Too many requests"}
	// ErrUserNotFound: no user matches (clients that reveal user existence
	// only). User stores return it (or an error wrapping it) when a lookup
	// finds nobody.
	ErrUserNotFound = &Error{Name: UserNotFoundException, Message: "Username/client id combination not found."}
	// ErrUserNotConfirmed: a code is confirmed for a user who is UNCONFIRMED.
	ErrUserNotConfirmed = &Error{Name: UserNotConfirmedException, Message: "User is not confirmed."}
	// ErrLimitExceeded: a per-user rolling budget (requests, or failed
	// confirmations) is spent.
	ErrLimitExceeded = &Error{Name: LimitExceededException, Message: "Attempt limit exceeded, please try after some time."}
	// ErrTooManyFailedAttempts: the consecutive-failure cap was reached and
	// confirmation is locked for the cool-down.
	ErrTooManyFailedAttempts = &Error{Name: TooManyFailedAttemptsException, Message: "Too many failed attempts."}
	// ErrCodeMismatch: the confirmation code is wrong.
	ErrCodeMismatch = &Error{Name: CodeMismatchException, Message: "Invalid verification code provided, please try again."}
	// ErrExpiredCode: the code expired, was used, was replaced, or was never issued.
	ErrExpiredCode = &Error{Name: ExpiredCodeException, Message: "Invalid code provided, please request a code again."}
	// ErrInvalidPassword: the new password breaks the password policy.
	ErrInvalidPassword = &Error{Name: InvalidPasswordException, Message: "Password does not conform to policy"}
	// ErrPasswordHistoryPolicyViolation: the new password is one of the user's
	// recent passwords.
	ErrPasswordHistoryPolicyViolation = &Error{Name: PasswordHistoryPolicyViolationException, Message: "Password does not conform to policy: Password has previously been used"}
	// ErrCodeDeliveryFailure: the sender failed; the code issued for this
	// request is not left usable.
	ErrCodeDeliveryFailure = &Error{Name: CodeDeliveryFailureException, Message: "Unable to deliver the verification code."}
	// ErrInvalidSmsRoleAccessPolicy: the SMS sender reports it is not
	// permitted to send (it wraps ErrDeliveryForbidden).
	ErrInvalidSmsRoleAccessPolicy = &Error{Name: InvalidSmsRoleAccessPolicyException, Message: "The SMS sender is not permitted to send messages."}
	// ErrInvalidSmsRoleTrustRelationship: the SMS gateway rejected the
	// sender's credentials (it wraps ErrDeliveryUnauthorized).
	ErrInvalidSmsRoleTrustRelationship = &Error{Name: InvalidSmsRoleTrustRelationshipException, Message: "The SMS gateway rejected the sender's credentials."}
	// ErrInvalidEmailRoleAccessPolicy: the email sender reports it is not
	// permitted or not authorized to send.
	ErrInvalidEmailRoleAccessPolicy = &Error{Name: InvalidEmailRoleAccessPolicyException, Message: "The email sender is not permitted to send messages."}
	// ErrOperationNotEnabled: Config.RecoveryDisabled is set.
	ErrOperationNotEnabled = &Error{Name: OperationNotEnabledException, Message: "Password recovery is not enabled for this user pool."}
	// ErrForbidden: the risk check hook blocked the request.
	ErrForbidden = &Error{Name: ForbiddenException, Message: "Request not allowed."}
	// ErrUserLambdaValidation: a hook rejected the request (see Reject).
	ErrUserLambdaValidation = &Error{Name: UserLambdaValidationException, Message: "A hook rejected the request."}
	// ErrUnexpectedLambda: a hook failed, panicked or timed out.
	ErrUnexpectedLambda = &Error{Name: UnexpectedLambdaException, Message: "A hook failed unexpectedly."}
	// ErrInvalidLambdaResponse: a hook returned output the engine cannot use.
	ErrInvalidLambdaResponse = &Error{Name: InvalidLambdaResponseException, Message: "Unrecognizable lambda output"}
	// ErrInternal: a store or another dependency failed; the cause is wrapped.
	ErrInternal = &Error{Name: InternalErrorException, Message: "Internal error."}
	// ErrUsernameExists: a user store's CreateUser found the username taken.
	ErrUsernameExists = &Error{Name: UsernameExistsException, Message: "User already exists"}
	// ErrAliasExists: a user store's CreateUser found a verified alias
	// (email, phone_number, preferred_username) already owned by another user.
	ErrAliasExists = &Error{Name: AliasExistsException, Message: "An account with the given alias already exists."}
)

// newError returns an error of the sentinel's kind with a specific message.
func newError(kind *Error, message string) *Error {
	return &Error{Name: kind.Name, Message: message}
}

// wrapError returns an error of the sentinel's kind, with its message, that
// wraps cause.
func wrapError(kind *Error, cause error) *Error {
	return &Error{Name: kind.Name, Message: kind.Message, cause: cause}
}

// internalError wraps cause as an InternalErrorException. The cause stays out
// of the message: it may describe infrastructure the caller must not see.
func internalError(cause error) *Error { return wrapError(ErrInternal, cause) }

// Rejection is what a hook returns to refuse a request with a message for the
// caller; the engine answers UserLambdaValidationException
// "<TriggerSource> failed with error <Message>.". Make one with Reject.
type Rejection struct {
	// Message is shown to the caller verbatim: keep secrets out of it.
	Message string
}

// Error returns the rejection message.
func (r *Rejection) Error() string { return "rejected: " + r.Message }

// Reject returns an error that makes a hook's refusal visible to the caller
// as UserLambdaValidationException with message. Any other error a hook
// returns is reported as UnexpectedLambdaException without its text, so
// internal details do not leak.
func Reject(message string) error { return &Rejection{Message: message} }

// ErrBlocked is returned (or wrapped) by a RiskCheck hook to refuse a request
// as ForbiddenException.
var ErrBlocked = errors.New("recovery: request blocked by risk check")

// Errors a Sender wraps to say it is misconfigured rather than that one
// delivery failed. The engine maps them by medium: for SMS,
// ErrDeliveryUnauthorized -> InvalidSmsRoleTrustRelationshipException and
// ErrDeliveryForbidden -> InvalidSmsRoleAccessPolicyException; for email,
// both -> InvalidEmailRoleAccessPolicyException. Any other send error is
// CodeDeliveryFailureException.
var (
	// ErrDeliveryUnauthorized: the gateway rejected the sender's credentials.
	ErrDeliveryUnauthorized = errors.New("recovery: delivery credentials rejected")
	// ErrDeliveryForbidden: the credentials were accepted but are not
	// allowed to send this message.
	ErrDeliveryForbidden = errors.New("recovery: delivery not permitted")
)

func lockedError(cooldown time.Duration) *Error {
	return newError(ErrTooManyFailedAttempts, fmt.Sprintf(
		"Too many failed attempts: password recovery for this account is locked for up to %s after the last failure.", cooldown))
}
