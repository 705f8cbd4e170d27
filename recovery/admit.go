package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
)

// admit runs the checks both operations share before any user lookup, so
// their answers are the same for every identifier: client, secret hash,
// request rate, pool switches and the risk hook.
func (e *Engine) admit(ctx context.Context, c *call, clientID, secretHash, username string, source netip.Addr, ucd *UserContextData, meta map[string]string) (Client, error) {
	client, ok := e.clients[clientID]
	if !ok {
		return client, newError(ErrResourceNotFound, fmt.Sprintf("User pool client %s does not exist.", clientID))
	}
	if client.Secret != "" {
		if secretHash == "" {
			return client, newError(ErrNotAuthorized, fmt.Sprintf("Client %s is configured for secret but secret was not received", clientID))
		}
		if !secretHashOK(client.Secret, username, clientID, secretHash) {
			return client, newError(ErrNotAuthorized, fmt.Sprintf("Unable to verify secret hash for client %s", clientID))
		}
	}
	if e.limiter != nil {
		if err := e.throttle(ctx, c, client, source, ucd); err != nil {
			return client, err
		}
	}
	if e.disabled {
		return client, ErrOperationNotEnabled
	}
	if e.adminOnly {
		return client, newError(ErrNotAuthorized, "Contact administrator to reset password.")
	}
	if e.hooks.RiskCheck != nil {
		ev := RiskEvent{
			HookContext:     HookContext{TriggerSource: TriggerRiskCheck, PoolID: e.pool, ClientID: clientID, Username: username, ClientMetadata: meta},
			Operation:       c.op,
			UserContextData: ucd,
		}
		_, err := callHook(ctx, e.hooks.Timeout, TriggerRiskCheck, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, e.hooks.RiskCheck.CheckRisk(ctx, ev)
		})
		if err != nil {
			return client, err
		}
	}
	return client, nil
}

// constantTimeEqual compares secrets; a variable so a test can prove every
// secret comparison goes through it.
var constantTimeEqual = func(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// SecretHash computes the SecretHash a caller sends for a client with a
// secret: Base64(HMAC-SHA256(clientSecret, username+clientID)).
func SecretHash(clientSecret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte(username))
	m.Write([]byte(clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// secretHashOK checks a SecretHash, computed over the username exactly as
// sent, in constant time.
func secretHashOK(secret, username, clientID, got string) bool {
	return constantTimeEqual([]byte(got), []byte(SecretHash(secret, username, clientID)))
}

// throttle charges the request to the per-client and per-address counters.
// Keys are short by construction: a configured client ID (at most 128
// characters) and a parsed address, so no caller can make a limiter store
// a key of its choosing.
func (e *Engine) throttle(ctx context.Context, c *call, client Client, source netip.Addr, ucd *UserContextData) error {
	keys := make([]LimitKey, 0, 2)
	if !e.policy.ClientRequests.IsZero() {
		keys = append(keys, LimitKey{Key: "client:" + client.ID, Rate: e.policy.ClientRequests})
	}
	if !e.policy.IPRequests.IsZero() {
		keys = append(keys, LimitKey{Key: "ip:" + addressKey(requestAddress(client, source, ucd)), Rate: e.policy.IPRequests})
	}
	if len(keys) == 0 {
		return nil
	}
	ok, err := e.limiter.Allow(ctx, LimitRequest{Pool: e.pool, Keys: keys, Now: c.now})
	if err != nil {
		return internalError(fmt.Errorf("request limiter: %w", err))
	}
	if !ok {
		return ErrTooManyRequests
	}
	return nil
}

// requestAddress is the address the per-IP limit charges: the one the
// transport saw, or, for a client trusted to report its users' addresses,
// UserContextData.IpAddress when it parses as one. Anything else a caller
// writes there is ignored, so made-up values neither spread requests over
// fresh counters nor reach the limiter's store.
func requestAddress(client Client, source netip.Addr, ucd *UserContextData) netip.Addr {
	if client.TrustUserContextIP && ucd != nil {
		if a, err := netip.ParseAddr(ucd.IPAddress); err == nil {
			return a
		}
	}
	return source
}

// addressKey is the counter of an address: an IPv4 address (also when
// mapped into IPv6) by itself, an IPv6 address by its /64 network, which is
// what one subscriber usually holds; requests without an address share
// "unknown", so that a transport that forgot to set SourceIP throttles
// rather than skips the limit.
func addressKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Unmap().Is4():
		return a.Unmap().String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// lookup finds the user for an identifier. found is false when nobody
// matches (in a case-sensitive pool, also when only the case differs).
func (e *Engine) lookup(ctx context.Context, identifier, folded string) (u User, found bool, err error) {
	u, err = e.users.FindUser(ctx, e.pool, UserQuery{Identifier: identifier, Key: folded})
	switch {
	case errors.Is(err, ErrUserNotFound):
		return User{}, false, nil
	case err != nil:
		return User{}, false, internalError(fmt.Errorf("user store: %w", err))
	case u.Sub == "":
		return User{}, false, internalError(fmt.Errorf("user store: %T.FindUser returned a user without Sub", e.users))
	}
	if e.caseSens && !matchesExactly(u, identifier) {
		return User{}, false, nil
	}
	return u, true, nil
}

// matchesExactly applies a case-sensitive pool's rule: the stores match
// case-insensitively, so the engine re-checks the identifier with case kept.
func matchesExactly(u User, identifier string) bool {
	id := preserveIdentifier(identifier)
	if id == preserveIdentifier(u.Username) || identifier == u.Sub {
		return true
	}
	for _, a := range []string{AttrPreferredUsername, AttrEmail, AttrPhoneNumber} {
		if v := u.Attributes[a]; v != "" && id == preserveIdentifier(v) {
			return true
		}
	}
	return false
}
