package recovery

import (
	"context"
	"errors"
)

// Explanation says what Recover would do for an identifier, and why no code
// would go out, for an operator asking "why did this user get nothing?".
type Explanation struct {
	// Found says a user matches the identifier; Sub and Username are that
	// user's.
	Found         bool
	Sub, Username string
	// Sends says a code would be sent, by Medium to Destination (masked).
	Sends       bool
	Medium      DeliveryMedium
	Destination string
	// Reason says why no code would be sent: "no user matches", "the user
	// is disabled", "status FORCE_CHANGE_PASSWORD cannot reset", "no
	// verified email or phone number usable under AccountRecovery", or a
	// verified flag the engine cannot read.
	Reason string
}

// Explain tells what Recover would do for identifier, without charging a
// budget, issuing a code or calling any hook: which user it finds, whether
// a code would go out, where, and if not, why. A client that hides user
// existence answers such requests with a simulated success, so Explain is
// how an operator finds out; it reveals existence, so never expose it to
// callers.
func (e *Engine) Explain(ctx context.Context, identifier string) (Explanation, error) {
	folded := FoldIdentifier(identifier)
	user, found, err := e.lookup(ctx, identifier, folded)
	if err != nil {
		return Explanation{}, err
	}
	if !found {
		return Explanation{Reason: refusalReason(ErrUserNotFound)}, nil
	}
	x := Explanation{Found: true, Sub: user.Sub, Username: user.Username}
	if err := stateError(user, OpForgotPassword); err != nil {
		x.Reason = refusalReason(err)
		return x, nil
	}
	dest, refusal, bad := e.chooseChannel(user, nil, folded)
	if err := errors.Join(bad, refusal); err != nil {
		x.Reason = refusalReason(err)
		return x, nil
	}
	d := details(dest.medium, dest.to)
	x.Sends, x.Medium, x.Destination = true, d.DeliveryMedium, d.Destination
	return x, nil
}

// refusalReason says in words why a Recover sends nothing.
func refusalReason(err error) string {
	var e *Error
	switch {
	case errors.Is(err, ErrUserNotFound):
		return "no user matches"
	case errors.Is(err, errNoChannel):
		return "no verified email or phone number usable under AccountRecovery"
	case errors.As(err, &e) && e.Name == InternalErrorException && e.cause != nil:
		return e.cause.Error()
	case errors.As(err, &e):
		return e.Message
	}
	return err.Error()
}
