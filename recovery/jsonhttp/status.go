package jsonhttp

import (
	"errors"
	"net/http"

	"github.com/recoverykit/recoverykit/recovery"
)

// Status is the HTTP status that fits an error of the engine, for hosts
// that write their own handlers:
//
//	status | errors
//	-------|-------------------------------------------------------------
//	400    | InvalidParameter, CodeMismatch, ExpiredCode, InvalidPassword,
//	       | PasswordHistoryPolicyViolation, UserLambdaValidation,
//	       | ResourceNotFound (an unknown client ID)
//	403    | NotAuthorized, Forbidden, OperationNotEnabled, UserNotConfirmed
//	404    | UserNotFound: only for a client that reveals user existence
//	429    | TooManyRequests, LimitExceeded, TooManyFailedAttempts
//	502    | UnexpectedLambda, InvalidLambdaResponse (a hook failed)
//	503    | CodeDeliveryFailure and the sender's misconfiguration errors
//	       | (InvalidSmsRole..., InvalidEmailRoleAccessPolicy)
//	500    | InternalError, and any error that is not a *recovery.Error
//
// A client that hides user existence never gets 404, nor 503: those
// answers would tell which accounts exist.
func Status(err error) int {
	var re *recovery.Error
	if !errors.As(err, &re) {
		return http.StatusInternalServerError
	}
	switch re.Name {
	case recovery.InvalidParameterException, recovery.CodeMismatchException, recovery.ExpiredCodeException,
		recovery.InvalidPasswordException, recovery.PasswordHistoryPolicyViolationException,
		recovery.UserLambdaValidationException, recovery.ResourceNotFoundException:
		return http.StatusBadRequest
	case recovery.NotAuthorizedException, recovery.ForbiddenException, recovery.OperationNotEnabledException,
		recovery.UserNotConfirmedException:
		return http.StatusForbidden
	case recovery.UserNotFoundException:
		return http.StatusNotFound
	case recovery.TooManyRequestsException, recovery.LimitExceededException, recovery.TooManyFailedAttemptsException:
		return http.StatusTooManyRequests
	case recovery.UnexpectedLambdaException, recovery.InvalidLambdaResponseException:
		return http.StatusBadGateway
	case recovery.CodeDeliveryFailureException, recovery.InvalidSmsRoleAccessPolicyException,
		recovery.InvalidSmsRoleTrustRelationshipException, recovery.InvalidEmailRoleAccessPolicyException:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
