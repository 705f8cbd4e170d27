package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/recoverykit/recoverykit/recovery"
)

// seed is the -seed file: the pool, its app clients and its users.
type seed struct {
	UserPoolID      string       `json:"userPoolId"`
	AccountRecovery []string     `json:"accountRecovery"`
	Clients         []seedClient `json:"clients"`
	Users           []seedUser   `json:"users"`
}

type seedClient struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	// PreventUserExistenceErrors is Cognito's setting: absent or true
	// hides whether a user exists, an explicit false reveals it (LEGACY).
	PreventUserExistenceErrors *bool `json:"preventUserExistenceErrors"`
}

type seedUser struct {
	Username   string            `json:"username"`
	Password   string            `json:"password"`
	Enabled    *bool             `json:"enabled"`
	Status     string            `json:"status"`
	Attributes map[string]string `json:"attributes"`
}

// demoSeed is what the server runs with when no -seed is given.
func demoSeed() seed {
	return seed{
		UserPoolID: "local_demo",
		Clients:    []seedClient{{ClientID: "demo"}},
		Users: []seedUser{{
			Username: "demo",
			Password: "Demo-passw0rd!",
			Attributes: map[string]string{
				"email": "demo@example.com", "email_verified": "true",
			},
		}},
	}
}

func loadSeed(path string) (seed, error) {
	if path == "" {
		return demoSeed(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return seed{}, err
	}
	var s seed
	if err := json.Unmarshal(b, &s); err != nil {
		return seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, s.validate()
}

func (s *seed) validate() error {
	var errs []error
	if s.UserPoolID == "" {
		s.UserPoolID = recovery.DefaultPoolID
	}
	if len(s.Clients) == 0 {
		errs = append(errs, errors.New(`seed: "clients" is empty: add at least {"clientId": "..."}`))
	}
	for i := range s.Users {
		u := &s.Users[i]
		if u.Username == "" {
			errs = append(errs, fmt.Errorf("seed: users[%d] has no username", i))
		}
		switch recovery.UserStatus(u.Status) {
		case "":
			u.Status = string(recovery.StatusConfirmed)
		case recovery.StatusConfirmed, recovery.StatusResetRequired, recovery.StatusForceChangePassword, recovery.StatusUnconfirmed:
		default:
			errs = append(errs, fmt.Errorf("seed: users[%d].status %q: use CONFIRMED, RESET_REQUIRED, FORCE_CHANGE_PASSWORD or UNCONFIRMED", i, u.Status))
		}
	}
	return errors.Join(errs...)
}

func (s seed) mechanisms() []recovery.RecoveryMechanism {
	var out []recovery.RecoveryMechanism
	for _, m := range s.AccountRecovery {
		out = append(out, recovery.RecoveryMechanism(m))
	}
	return out
}

func (s seed) clients() []recovery.Client {
	var out []recovery.Client
	for _, c := range s.Clients {
		reveal := c.PreventUserExistenceErrors != nil && !*c.PreventUserExistenceErrors
		out = append(out, recovery.Client{ID: c.ClientID, Secret: c.ClientSecret, RevealUserExistence: reveal})
	}
	return out
}

func (u seedUser) user() recovery.User {
	enabled := true
	if u.Enabled != nil {
		enabled = *u.Enabled
	}
	return recovery.User{Username: u.Username, Disabled: !enabled, Status: recovery.UserStatus(u.Status), Attributes: u.Attributes}
}
