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
	buf := randomBuffers.Get().(*[32]byte)
	defer randomBuffers.Put(buf)
	for {
		if _, err := io.ReadFull(r, buf[:8]); err != nil {
			return "", fmt.Errorf("recovery: reading randomness: %w", err)
		}
		if v := binary.BigEndian.Uint64(buf[:8]); v < limit {
			return zeroPadded(v%n, digits), nil
		}
	}
}

// zeroPadded formats v in decimal with leading zeros to width digits (at
// most 20), with one allocation: the string.
func zeroPadded(v uint64, digits int) string {
	var b [20]byte
	i := len(b)
	for ; v > 0 || len(b)-i < digits; v /= 10 {
		i--
		b[i] = byte('0' + v%10)
	}
	return string(b[i:])
}

// randomBuffers holds the buffers randomness is read into: a buffer passed
// to an io.Reader escapes, and a pooled one saves an allocation per request.
var randomBuffers = sync.Pool{New: func() any { return new([32]byte) }}

// Domain-separation labels, so one key's HMACs for different purposes can
// never be confused.
const (
	labelCode      = "recoverykit/code/v1"
	labelCodePool  = "recoverykit/code-pool/v1" // bound to the user by BoundCode
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
	return (&macState{h: hmac.New(sha256.New, key)}).sum(label, parts...)
}

// macState is an HMAC state with the buffer its input is assembled in.
type macState struct {
	h   hash.Hash
	buf []byte
}

// sum returns the MAC of label and parts, allocating only the result: the
// input goes to the hash in one Write from the reused buffer.
func (m *macState) sum(label string, parts ...string) []byte {
	b := append(m.buf[:0], label...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	m.h.Write(b)
	if cap(b) <= 1024 { // keep ordinary inputs' buffer, not a huge one's
		m.buf = b
	}
	out := m.h.Sum(make([]byte, 0, sha256.Size))
	m.h.Reset()
	return out
}

// macPool reuses keyed HMAC states: setting up HMAC-SHA256 costs more than
// hashing a code, and the engine hashes on every request.
type macPool struct{ sync.Pool }

func newMacPool(key []byte) *macPool {
	key = append([]byte(nil), key...)
	return &macPool{sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, key)} }}}
}

func (p *macPool) sum(label string, parts ...string) []byte {
	m := p.Get().(*macState)
	defer p.Put(m)
	return m.sum(label, parts...)
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
