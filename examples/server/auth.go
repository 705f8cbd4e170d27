package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/recoverykit/recoverykit/recovery"
)

// directory is what the server needs of a user store: the engine's
// interface, plus the stored hash to check a sign-in.
type directory interface {
	recovery.UserStore
	PasswordHash(ctx context.Context, pool, identifier string) (string, error)
}

// signIn answers InitiateAuth with AuthFlow USER_PASSWORD_AUTH, so a client
// can see that a reset really changed the password. The tokens are random
// and opaque: this is a demo, not a token service.
type signIn struct {
	pool    string
	clients map[string]recovery.Client
	users   directory
	hasher  recovery.PasswordHasher
	// dummy is a hash verified when the user does not exist, so an unknown
	// user costs the same time as a wrong password.
	dummy string
}

func newSignIn(pool string, clients []recovery.Client, users directory, hasher recovery.PasswordHasher) (*signIn, error) {
	s := &signIn{pool: pool, clients: map[string]recovery.Client{}, users: users, hasher: hasher}
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

var errBadCredentials = apiError(recovery.NotAuthorizedException, "Incorrect username or password.")

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
	u, err := s.users.FindUser(ctx, s.pool, recovery.UserQuery{Identifier: username, Key: recovery.FoldIdentifier(username)})
	if errors.Is(err, recovery.ErrUserNotFound) {
		s.hasher.Verify(password, s.dummy)
		if !client.RevealUserExistence {
			return nil, errBadCredentials
		}
		return nil, apiError(recovery.UserNotFoundException, "User does not exist.")
	}
	if err != nil {
		return nil, err
	}
	hash, err := s.users.PasswordHash(ctx, s.pool, u.Sub)
	if err != nil {
		return nil, err
	}
	if hash == "" {
		hash = s.dummy
	}
	ok, err = s.hasher.Verify(password, hash)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return nil, errBadCredentials
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
