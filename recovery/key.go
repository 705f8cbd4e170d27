package recovery

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ParseKey makes a Key from a secret in text form, as it comes from an
// environment variable or a secrets file: hex, or base64 in the standard or
// URL alphabet, padded or not, surrounding white space ignored. The secret
// must decode to at least 32 bytes; make one with
//
//	openssl rand -hex 32
//
// Errors say what is wrong with the text but never contain it.
func ParseKey(id, text string) (Key, error) {
	if !validKeyID(id) {
		return Key{}, fmt.Errorf("recovery: key ID %q is invalid: use 1-32 characters of letters, digits, '_', '.' and '-'", id)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return Key{}, fmt.Errorf("recovery: key %q is empty: set it to 32 random bytes in hex or base64 (openssl rand -hex 32)", id)
	}
	secret, err := decodeSecret(text)
	if err != nil {
		return Key{}, fmt.Errorf("recovery: key %q: %w", id, err)
	}
	if len(secret) < 32 {
		return Key{}, fmt.Errorf("recovery: key %q has %d bytes: use at least 32 random bytes (openssl rand -hex 32)", id, len(secret))
	}
	return Key{ID: id, Secret: secret}, nil
}

// decodeSecret tries hex first: a string of hex digits is also valid
// base64, and hex is what openssl rand -hex prints.
func decodeSecret(text string) ([]byte, error) {
	if b, err := hex.DecodeString(text); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("it is neither hex nor base64")
}
