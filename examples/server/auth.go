package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// signIn answers InitiateAuth with AuthFlow USER_PASSWORD_AUTH, so a client
// can see that a reset really changed the password. The tokens are random
// and opaque: this is a demo, not a token service.
//
// Two bounds protect it. Failed sign-ins are counted per user (by sub), or
// per unknown username (by a keyed hash of it, so that both answer alike),
// in the store the instances share: after limit failures within window
// (from the first failure), every sign-in of that user, right password
// included, is refused with NotAuthorizedException "Password attempts
// exceeded" until the window ends; a success clears the count. And at most
// cap(gate) password hashes (argon2id, 19 MiB each) are computed at once;
// more wait their turn, or give up when their request ends.
type signIn struct {
	pool    string
	clients map[string]recovery.Client
	users   directory
	hasher  recovery.PasswordHasher
	// dummy is a hash verified when the user does not exist, so an unknown
	// user costs the same time as a wrong password.
	dummy string

	failures failureCounter
	limit    int
	window   time.Duration
	secret   []byte // keys the counters of unknown usernames
	gate     chan struct{}
	now      func() time.Time
}

// signInLimits are signIn's bounds.
type signInLimits struct {
	failures  failureCounter
	limit     int
	window    time.Duration
	secret    []byte
	maxHashes int
}

func newSignIn(pool string, clients []recovery.Client, users directory, hasher recovery.PasswordHasher, l signInLimits) (*signIn, error) {
	s := &signIn{
		pool: pool, clients: map[string]recovery.Client{}, users: users, hasher: hasher,
		failures: l.failures, limit: l.limit, window: l.window, secret: l.secret,
		gate: make(chan struct{}, l.maxHashes), now: time.Now,
	}
	for _, c := range clients {
		s.clients[c.ID] = c
	}
	var err error
	s.dummy, err = hasher.Hash(rand.Text())
	return s, err
}

type initiateAuthInput struct {
	AuthFlow       string            `json:"AuthFlow"`
	ClientID       string            `json:"ClientId"`
	AuthParameters map[string]string `json:"AuthParameters"`
}

type authenticationResult struct {
	AccessToken  string `json:"AccessToken"`
	ExpiresIn    int    `json:"ExpiresIn"`
	IDToken      string `json:"IdToken"`
	RefreshToken string `json:"RefreshToken"`
	TokenType    string `json:"TokenType"`
}

type initiateAuthOutput struct {
	AuthenticationResult authenticationResult `json:"AuthenticationResult"`
	ChallengeParameters  map[string]string    `json:"ChallengeParameters"`
}

func apiError(name recovery.ErrorCode, message string) error {
	return &recovery.Error{Name: name, Message: message}
}

// Exceptions of InitiateAuth and the protocol that the recovery engine
// does not answer with.
const (
	passwordResetRequired recovery.ErrorCode = "PasswordResetRequiredException"
	serialization         recovery.ErrorCode = "SerializationException"
)

var (
	errBadCredentials = apiError(recovery.NotAuthorizedException, "Incorrect username or password.")
	// errAttemptsExceeded is Cognito's answer once a user's failed sign-ins
	// are spent.
	errAttemptsExceeded = apiError(recovery.NotAuthorizedException, "Password attempts exceeded")
)

// InitiateAuth is a cognitohttp.Operation.
func (s *signIn) InitiateAuth(ctx context.Context, _ *http.Request, body []byte) (any, error) {
	var in initiateAuthInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, apiError(serialization, "The request body is not valid JSON.")
	}
	client, ok := s.clients[in.ClientID]
	switch {
	case !ok:
		return nil, apiError(recovery.ResourceNotFoundException, fmt.Sprintf("User pool client %s does not exist.", in.ClientID))
	case in.AuthFlow != "USER_PASSWORD_AUTH":
		return nil, apiError(recovery.InvalidParameterException, "Initiate Auth method not supported.")
	}
	username, password := in.AuthParameters["USERNAME"], in.AuthParameters["PASSWORD"]
	if username == "" || password == "" {
		return nil, apiError(recovery.InvalidParameterException, "Missing required parameter USERNAME or PASSWORD")
	}
	if client.Secret != "" {
		got := in.AuthParameters["SECRET_HASH"]
		if got == "" {
			return nil, apiError(recovery.NotAuthorizedException, fmt.Sprintf("Client %s is configured for secret but secret was not received", client.ID))
		}
		if !hmac.Equal([]byte(got), []byte(recovery.SecretHash(client.Secret, username, client.ID))) {
			return nil, apiError(recovery.NotAuthorizedException, fmt.Sprintf("Unable to verify secret hash for client %s", client.ID))
		}
	}
	return s.authenticate(ctx, client, username, password)
}

// authenticate checks the password within the failure limit and the hash
// bound, then the user's state.
func (s *signIn) authenticate(ctx context.Context, client recovery.Client, username, password string) (any, error) {
	key := recovery.FoldIdentifier(username)
	u, err := s.users.FindUser(ctx, s.pool, recovery.UserQuery{Identifier: username, Key: key})
	found := err == nil
	if err != nil && !errors.Is(err, recovery.ErrUserNotFound) {
		return nil, err
	}
	counter := "sub:" + u.Sub
	hash := s.dummy
	if !found {
		m := hmac.New(sha256.New, s.secret)
		m.Write([]byte(s.pool + "\x00" + key))
		counter = "id:" + hex.EncodeToString(m.Sum(nil)[:16])
	} else if hash, err = s.users.StoredPasswordHash(ctx, s.pool, u.Sub); err != nil {
		return nil, err
	} else if hash == "" {
		hash = s.dummy
	}
	ok, failures, err := s.verify(ctx, counter, password, hash)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		if !found && client.RevealUserExistence {
			return nil, apiError(recovery.UserNotFoundException, "User does not exist.")
		}
		return nil, errBadCredentials
	case failures > 0:
		if err := s.failures.Reset(ctx, s.pool, counter); err != nil {
			return nil, err
		}
	}
	return s.answer(u)
}

// verify compares the password with the hash, holding a place of the gate,
// unless the counter's failures are spent (errAttemptsExceeded); a
// mismatch is counted. It returns the failures counted before.
func (s *signIn) verify(ctx context.Context, counter, password, hash string) (ok bool, failures int, err error) {
	select {
	case s.gate <- struct{}{}:
		defer func() { <-s.gate }()
	case <-ctx.Done():
		return false, 0, ctx.Err()
	}
	failures, err = s.failures.Failures(ctx, s.pool, counter, s.now())
	if err != nil {
		return false, 0, err
	}
	if failures >= s.limit {
		return false, failures, errAttemptsExceeded
	}
	if ok, err = s.hasher.Verify(password, hash); err != nil || ok {
		return ok, failures, err
	}
	return false, failures, s.failures.Fail(ctx, s.pool, counter, s.now(), s.window)
}

// answer is the result for a user whose password matched.
func (s *signIn) answer(u recovery.User) (any, error) {
	switch {
	case u.Sub == "":
		return nil, errBadCredentials // the dummy hash matched: never
	case u.Disabled:
		return nil, apiError(recovery.NotAuthorizedException, "User is disabled.")
	case u.Status == recovery.StatusResetRequired:
		return nil, apiError(passwordResetRequired, "Password reset required for the user")
	case u.Status == recovery.StatusUnconfirmed:
		return nil, apiError(recovery.UserNotConfirmedException, "User is not confirmed.")
	case u.Status == recovery.StatusForceChangePassword:
		return nil, apiError(recovery.NotAuthorizedException, "User must change the temporary password: NEW_PASSWORD_REQUIRED is not served by this demo.")
	}
	return initiateAuthOutput{
		AuthenticationResult: authenticationResult{
			AccessToken: rand.Text() + rand.Text(), IDToken: rand.Text() + rand.Text(), RefreshToken: rand.Text() + rand.Text(),
			ExpiresIn: 3600, TokenType: "Bearer",
		},
		ChallengeParameters: map[string]string{},
	}, nil
}
