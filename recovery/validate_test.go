package recovery_test

import (
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

const (
	prefix1 = "1 validation error detected: "
	pattern = "failed to satisfy constraint: Member must satisfy regular expression pattern: "
)

func TestRecoverValidation(t *testing.T) {
	e := newEnv(t)
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name string
		req  recovery.RecoverRequest
		msg  string
	}{
		{"missing client", recovery.RecoverRequest{Username: "alice"},
			prefix1 + "Value at 'clientId' failed to satisfy constraint: Member must not be null"},
		{"client too long", recovery.RecoverRequest{ClientID: long(129), Username: "alice"},
			prefix1 + "Value at 'clientId' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"client pattern", recovery.RecoverRequest{ClientID: "web-app", Username: "alice"},
			prefix1 + "Value at 'clientId' " + pattern + `[\w+]+`},
		{"missing username", recovery.RecoverRequest{ClientID: "web"},
			prefix1 + "Value at 'username' failed to satisfy constraint: Member must not be null"},
		{"username too long", recovery.RecoverRequest{ClientID: "web", Username: long(129)},
			prefix1 + "Value at 'username' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"username with space", recovery.RecoverRequest{ClientID: "web", Username: "al ice"},
			prefix1 + "Value at 'username' " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`},
		{"username with control", recovery.RecoverRequest{ClientID: "web", Username: "al\x00ice"},
			prefix1 + "Value at 'username' " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`},
		{"username invalid utf-8", recovery.RecoverRequest{ClientID: "web", Username: "al\xffice"},
			prefix1 + "Value at 'username' " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`},
		{"secret hash pattern", recovery.RecoverRequest{ClientID: "web", Username: "alice", SecretHash: "a b"},
			prefix1 + "Value at 'secretHash' " + pattern + `[\w+=/]+`},
		{"secret hash too long", recovery.RecoverRequest{ClientID: "web", Username: "alice", SecretHash: long(129)},
			prefix1 + "Value at 'secretHash' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"ip too long", recovery.RecoverRequest{ClientID: "web", Username: "alice", UserContextData: &recovery.UserContextData{IPAddress: long(131073)}},
			prefix1 + "Value at 'userContextData.ipAddress' failed to satisfy constraint: Member must have length less than or equal to 131072"},
		{"encoded data too long", recovery.RecoverRequest{ClientID: "web", Username: "alice", UserContextData: &recovery.UserContextData{EncodedData: long(131073)}},
			prefix1 + "Value at 'userContextData.encodedData' failed to satisfy constraint: Member must have length less than or equal to 131072"},
		{"two violations", recovery.RecoverRequest{ClientID: "", Username: long(200)},
			"2 validation errors detected: Value at 'clientId' failed to satisfy constraint: Member must not be null; " +
				"Value at 'username' failed to satisfy constraint: Member must have length less than or equal to 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.engine.Recover(e.ctx, tc.req)
			wantErr(t, err, recovery.ErrInvalidParameter, tc.msg)
		})
	}
}

func TestConfirmValidation(t *testing.T) {
	e := newEnv(t)
	ok := recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: "123456", Password: "N3w-password!"}
	for _, tc := range []struct {
		name   string
		mutate func(*recovery.ConfirmRequest)
		msg    string
	}{
		{"missing code", func(r *recovery.ConfirmRequest) { r.ConfirmationCode = "" },
			prefix1 + "Value at 'confirmationCode' failed to satisfy constraint: Member must not be null"},
		{"code with space", func(r *recovery.ConfirmRequest) { r.ConfirmationCode = "123 456" },
			prefix1 + "Value at 'confirmationCode' " + pattern + `[\S]+`},
		{"code too long", func(r *recovery.ConfirmRequest) { r.ConfirmationCode = strings.Repeat("1", 2049) },
			prefix1 + "Value at 'confirmationCode' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"missing password", func(r *recovery.ConfirmRequest) { r.Password = "" },
			prefix1 + "Value at 'password' failed to satisfy constraint: Member must not be null"},
		{"password with tab", func(r *recovery.ConfirmRequest) { r.Password = "Pass\tw0rd!" },
			prefix1 + "Value at 'password' " + pattern + `[\S]+`},
		{"password too long", func(r *recovery.ConfirmRequest) { r.Password = strings.Repeat("P", 257) },
			prefix1 + "Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"username with newline", func(r *recovery.ConfirmRequest) { r.Username = "alice\n" },
			prefix1 + "Value at 'username' " + pattern + `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`},
		{"three violations", func(r *recovery.ConfirmRequest) { r.ClientID, r.ConfirmationCode, r.Password = "", "", "" },
			"3 validation errors detected: Value at 'clientId' failed to satisfy constraint: Member must not be null; " +
				"Value at 'confirmationCode' failed to satisfy constraint: Member must not be null; " +
				"Value at 'password' failed to satisfy constraint: Member must not be null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			err := e.engine.Confirm(e.ctx, r)
			wantErr(t, err, recovery.ErrInvalidParameter, tc.msg)
			for _, secret := range []string{r.Password, r.ConfirmationCode} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Fatalf("the error echoes a secret: %v", err)
				}
			}
		})
	}
}

// TestUsernameUnicodeClasses: letters, marks, symbols, numbers and
// punctuation of any script are valid usernames; the length counts
// characters, not bytes.
func TestUsernameUnicodeClasses(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"josé", "Zoë", "用户名", "пользователь", "user+tag@example.com", "a_b-c.d", "😀", "x\u0301", "١٢٣", strings.Repeat("é", 128)} {
		_, err := e.recover("web", name)
		wantErr(t, err, recovery.ErrUserNotFound, "") // valid, just unknown
	}
}
