package recovery_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

func TestParseKey(t *testing.T) {
	secret := bytes.Repeat([]byte{0xfb, 0x3e, 0x07}, 11) // 33 bytes; base64 needs both alphabets' special characters
	for name, text := range map[string]string{
		"hex":         hex.EncodeToString(secret),
		"base64":      base64.StdEncoding.EncodeToString(secret),
		"raw base64":  base64.RawStdEncoding.EncodeToString(secret[:32]),
		"url base64":  base64.URLEncoding.EncodeToString(secret),
		"with spaces": "  " + hex.EncodeToString(secret) + "\n",
	} {
		k, err := recovery.ParseKey("k1", text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.ID != "k1" || !bytes.HasPrefix(secret, k.Secret) || len(k.Secret) < 32 {
			t.Fatalf("%s: got %+v", name, k)
		}
	}
	short := hex.EncodeToString(secret[:16])
	for text, want := range map[string]string{
		"":                  "empty",
		short:               "16 bytes",
		"not a key at all!": "neither hex nor base64",
	} {
		_, err := recovery.ParseKey("k1", text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("ParseKey(%q) = %v, want an error saying %q", text, err, want)
		}
		if text != "" && strings.Contains(err.Error(), text) {
			t.Fatalf("the error echoes the secret: %v", err)
		}
	}
	if _, err := recovery.ParseKey("bad id!", hex.EncodeToString(secret)); err == nil {
		t.Fatal("an invalid key ID was accepted")
	}
}
