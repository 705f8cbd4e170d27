package recovery

import (
	"context"
	"errors"
	"fmt"
)

// migrate runs the user-migration hook for an identifier that matched nobody
// and creates the user it returns. Concurrent requests for one identifier
// share one hook call and one creation.
func (e *Engine) migrate(ctx context.Context, req *RecoverRequest, folded string) (User, *MigratedUser, bool, error) {
	type result struct {
		user User
		mu   *MigratedUser
	}
	v, err, _ := e.migrations.Do(e.pool+"\x00"+folded, func() (any, error) {
		ev := UserMigrationEvent{HookContext: HookContext{TriggerSource: TriggerUserMigration, PoolID: e.pool, ClientID: req.ClientID, Username: req.Username, ClientMetadata: req.ClientMetadata}}
		mu, err := callHook(ctx, e.hooks.Timeout, TriggerUserMigration, func(ctx context.Context) (*MigratedUser, error) {
			return e.hooks.UserMigration.MigrateUser(ctx, ev)
		})
		if err != nil || mu == nil {
			return result{}, err
		}
		u, err := e.migratedUser(req.Username, mu)
		if err != nil {
			return result{}, err
		}
		created, err := e.creator.CreateUser(ctx, e.pool, u, "")
		if errors.Is(err, ErrUsernameExists) || errors.Is(err, ErrAliasExists) {
			// Another instance migrated the user first: use that one.
			found, ok, lerr := e.lookup(ctx, req.Username, folded)
			if lerr != nil || !ok {
				return result{}, internalError(fmt.Errorf("user store: migrated user vanished: %w", err))
			}
			return result{found, mu}, nil
		}
		if err != nil {
			return result{}, internalError(fmt.Errorf("user store: creating a migrated user: %w", err))
		}
		return result{created, mu}, nil
	})
	if err != nil {
		return User{}, nil, false, err
	}
	r := v.(result)
	if r.mu == nil {
		return User{}, nil, false, nil
	}
	return r.user, r.mu, true, nil
}

// migratedUser checks the hook's response and builds the user:
// finalUserStatus CONFIRMED or (by default) RESET_REQUIRED, messageAction
// SUPPRESS or RESEND, desiredDeliveryMediums among EMAIL and SMS.
func (e *Engine) migratedUser(username string, mu *MigratedUser) (User, error) {
	status := mu.FinalStatus
	switch status {
	case "":
		status = StatusResetRequired
	case StatusConfirmed, StatusResetRequired:
	default:
		return User{}, invalidHookResponse(TriggerUserMigration, "finalUserStatus must be CONFIRMED or RESET_REQUIRED")
	}
	switch mu.MessageAction {
	case "", "SUPPRESS", "RESEND":
	default:
		return User{}, invalidHookResponse(TriggerUserMigration, "messageAction must be SUPPRESS or RESEND")
	}
	for _, m := range mu.DesiredDeliveryMediums {
		if m != Email && m != SMS {
			return User{}, invalidHookResponse(TriggerUserMigration, "desiredDeliveryMediums may hold EMAIL and SMS only")
		}
	}
	attrs := make(map[string]string, len(mu.Attributes))
	for k, v := range mu.Attributes {
		if k != "sub" && k != "username" {
			attrs[k] = v
		}
	}
	return User{Username: username, Status: status, Attributes: attrs}, nil
}
