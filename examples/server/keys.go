package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
)

// keyring is the engine's keys and where they came from.
type keyring struct {
	keys []recovery.Key
	// pseudonym is recovery.Config.PseudonymKey: nil for the engine's
	// default (derived from the first key).
	pseudonym []byte
	// ephemeral is true when no key was given and a random one is used.
	ephemeral bool
}

// signInSecret keys the sign-in failure counters of unknown usernames, so
// that the stores never hold the identifiers someone tried.
func (k keyring) signInSecret() []byte {
	base := k.pseudonym
	if base == nil {
		base = k.keys[0].Secret
	}
	m := hmac.New(sha256.New, base)
	m.Write([]byte("examples/server sign-in failures"))
	return m.Sum(nil)
}

// loadKeys reads the code-hashing keys from -key-file, RECOVERY_KEY or
// -key (one of them; -key with a warning that ps shows it), or makes a
// random one with a loud warning; and the pseudonym key from
// -pseudonym-key-file or RECOVERY_PSEUDONYM_KEY.
func loadKeys(o options, warn func(msg string, args ...any)) (keyring, error) {
	var sources []string
	text := ""
	if o.keyFile != "" {
		b, err := os.ReadFile(o.keyFile)
		if err != nil {
			return keyring{}, fmt.Errorf("-key-file: %w", err)
		}
		sources, text = append(sources, "-key-file "+o.keyFile), string(b)
	}
	if v := os.Getenv(keyEnv); v != "" {
		sources, text = append(sources, keyEnv), v
	}
	if o.key != "" {
		sources, text = append(sources, "-key"), o.key
		warn("-key puts the code-hashing key on the command line, where ps and /proc/<pid>/cmdline show it to every local user: use " + keyEnv + " or -key-file")
	}
	if len(sources) > 1 {
		return keyring{}, fmt.Errorf("the code-hashing key is given %d ways (%s): keep one", len(sources), strings.Join(sources, ", "))
	}
	var k keyring
	var err error
	if len(sources) == 0 {
		k.ephemeral = true
		k.keys = []recovery.Key{newKey(rand.Text() + rand.Text())}
	} else if k.keys, err = parseKeys(sources[0], text); err != nil {
		return keyring{}, err
	}
	if k.pseudonym, err = loadPseudonymKey(o); err != nil {
		return keyring{}, err
	}
	if len(k.keys) > 1 && k.pseudonym == nil {
		warn("several code-hashing keys but no " + pseudonymKeyEnv + ": simulated answers for unknown users follow the first key and change when it does; set " + pseudonymKeyEnv + " (32+ random bytes) before rotating")
	}
	return k, nil
}

// parseKeys reads a comma- or newline-separated list of secrets, each hex
// or base64 of 32+ bytes. A key's ID is a fingerprint of its secret, so
// that every instance, and every order of the list, names it alike.
func parseKeys(source, text string) ([]recovery.Key, error) {
	var keys []recovery.Key
	seen := map[string]bool{}
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		secret, err := parseSecret(f)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is neither hex nor base64: write 32+ random bytes as hex or base64, e.g. $(head -c 32 /dev/urandom | base64)", source, i+1)
		}
		if len(secret) < 32 {
			return nil, fmt.Errorf("%s: key %d has %d bytes: use 32+ random bytes, e.g. $(head -c 32 /dev/urandom | base64)", source, i+1, len(secret))
		}
		k := newKeyBytes(secret)
		if seen[k.ID] {
			return nil, fmt.Errorf("%s: key %d repeats an earlier one: list each key once", source, i+1)
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s is empty: give at least one key of 32+ random bytes, hex or base64", source)
	}
	return keys, nil
}

// loadPseudonymKey reads -pseudonym-key-file or RECOVERY_PSEUDONYM_KEY;
// nil when neither is set.
func loadPseudonymKey(o options) ([]byte, error) {
	source, text := "", ""
	if o.pseudonymKeyFile != "" {
		b, err := os.ReadFile(o.pseudonymKeyFile)
		if err != nil {
			return nil, fmt.Errorf("-pseudonym-key-file: %w", err)
		}
		source, text = "-pseudonym-key-file "+o.pseudonymKeyFile, string(b)
	}
	if v := os.Getenv(pseudonymKeyEnv); v != "" {
		if source != "" {
			return nil, fmt.Errorf("the pseudonym key is given twice (-pseudonym-key-file and %s): keep one", pseudonymKeyEnv)
		}
		source, text = pseudonymKeyEnv, v
	}
	if source == "" {
		return nil, nil
	}
	secret, err := parseSecret(strings.TrimSpace(text))
	if err != nil || len(secret) < 32 {
		return nil, fmt.Errorf("%s: use one value of 32+ random bytes, hex or base64, e.g. $(head -c 32 /dev/urandom | base64)", source)
	}
	return secret, nil
}

// parseSecret reads hex or base64 (standard or URL-safe, padded or not).
func parseSecret(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("neither hex nor base64")
}

// newKey makes a key of a random text's bytes.
func newKey(random string) recovery.Key { return newKeyBytes([]byte(random)) }

// newKeyBytes names a secret by its fingerprint: "k" and 12 hex digits of
// a SHA-256 of it, which says nothing useful about a 32-byte random secret.
func newKeyBytes(secret []byte) recovery.Key {
	sum := sha256.Sum256(append([]byte("recoverykit key id\x00"), secret...))
	return recovery.Key{ID: "k" + hex.EncodeToString(sum[:6]), Secret: secret}
}

// devBanner is printed at start-up in development mode.
var devBanner = box(
	"DEVELOPMENT MODE: neither -smtp nor -sms-webhook is set, so every",
	"recovery code is PRINTED TO STDERR. Anyone who reads this output can",
	"take over the accounts. Never run it like this in production.",
)

// noKeyBanner is printed at start-up when no key is given.
var noKeyBanner = box(
	"NO CODE-HASHING KEY: using a random one. Codes do not survive a restart",
	"and are not shared between instances, and the answers for unknown users",
	"change with every start. Set "+keyEnv+" (or -key-file) to 32+ random bytes.",
)

// box frames lines in '#', for warnings nobody should miss.
func box(lines ...string) string {
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	rule := strings.Repeat("#", width+4)
	var b strings.Builder
	b.WriteString(rule + "\n")
	for _, l := range lines {
		b.WriteString("# " + l + strings.Repeat(" ", width-len(l)) + " #\n")
	}
	b.WriteString(rule)
	return b.String()
}

// announceKeys logs where the keys came from, loudly when there is none.
func announceKeys(k keyring, banner func(string), log *slog.Logger) {
	if k.ephemeral {
		banner(noKeyBanner)
		log.Warn("no code-hashing key given: codes do not survive a restart and are not shared between instances; set " + keyEnv + " or -key-file")
		return
	}
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	log.Info("code-hashing keys loaded", "ids", strings.Join(ids, ","), "issuing", ids[0], "pseudonym_key", k.pseudonym != nil)
}
