package recovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math"
	"sync"
)

// newCode returns a uniformly random code of digits decimal digits read from
// r. It draws 64-bit values and rejects those at or above the largest multiple
// of 10^digits, so every code is equally likely (no modulo bias); a rejection
// happens with probability below 10^-9.
func newCode(r io.Reader, digits int) (string, error) {
	n := uint64(math.Pow10(digits))
	limit := math.MaxUint64 - math.MaxUint64%n // multiple of n
	var buf [8]byte
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("recovery: reading randomness: %w", err)
		}
		if v := binary.BigEndian.Uint64(buf[:]); v < limit {
			return fmt.Sprintf("%0*d", digits, v%n), nil
		}
	}
}

// Domain-separation labels, so one key's HMACs for different purposes can
// never be confused.
const (
	labelCode      = "recoverykit/code/v1"
	labelPseudonym = "recoverykit/pseudonym/v1"
	labelSimulated = "recoverykit/simulated/v1"
	labelDerive    = "recoverykit/pseudonym-key/v1"
	// Hashes that no submitted code can match: one label for what Issue
	// stores, another for what Check submits, so they never meet either.
	labelUnusableIssue = "recoverykit/unusable-issue/v1"
	labelUnusableCheck = "recoverykit/unusable-check/v1"
)

// keyedHMAC computes HMAC-SHA256(key, label || 0 || part0 || 0 || part1 ...).
// Parts cannot contain the zero byte ambiguously: pools and user keys are
// validated strings and the code is the last part.
func keyedHMAC(key []byte, label string, parts ...string) []byte {
	return macWith(hmac.New(sha256.New, key), label, parts...)
}

func macWith(m hash.Hash, label string, parts ...string) []byte {
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// macPool reuses keyed HMAC states: setting up HMAC-SHA256 costs more than
// hashing a code, and the engine hashes on every request.
type macPool struct{ sync.Pool }

func newMacPool(key []byte) *macPool {
	key = append([]byte(nil), key...)
	return &macPool{sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (p *macPool) sum(label string, parts ...string) []byte {
	m := p.Get().(hash.Hash)
	out := macWith(m, label, parts...)
	m.Reset()
	p.Put(m)
	return out
}

// engineKey is a Key with its HMAC states pooled.
type engineKey struct {
	id   string
	macs *macPool
}

// hash is the keyed hash of a code, bound to the pool and the user key so a
// hash copied into another user's record does not match there. With label
// labelCode it is what the store keeps and compares. With
// labelUnusableIssue (what Issue stores) or labelUnusableCheck (what Check
// submits) no submitted code can match: the engine uses those for an
// identifier that matches nobody, or a user who may not reset, with
// existence errors prevented, at the same HMAC cost.
func (k engineKey) hash(label, pool, userKey, code string) KeyedHash {
	return KeyedHash{KeyID: k.id, Hash: k.macs.sum(label, pool, userKey, code)}
}

// UserKey is the code-store key (IssueParams.UserKey) of the user with this
// sub. A user store that shares a database with the code store uses it to
// invalidate the user's code in the transaction that sets a new password.
func UserKey(sub string) string { return "u:" + sub }

func derivePseudonymKey(first Key) []byte {
	return keyedHMAC(first.Secret, labelDerive)
}
