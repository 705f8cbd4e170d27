// Package sealedjob is what the durable outboxes (delivery/riveroutbox,
// delivery/asynqoutbox) share: the sealing of a recovery.Delivery for
// storage in a queue, and the rule that decides whether a failed attempt
// is retried.
//
// A queued delivery holds a confirmation code, an address and the user's
// attributes, and a queue's storage (Postgres rows, Redis keys, their
// backups) is read by more people than the engine's keys are. So a job
// holds the delivery encrypted with AES-256-GCM under a key derived, with
// HKDF-SHA256, from one of the engine's recovery.Key secrets. The envelope
// is
//
//	version (1 byte, 1) | len(keyID) (1 byte) | keyID | len(id) (1 byte) | id | nonce (12 bytes) | ciphertext
//
// where id is the Delivery.ID, and everything before the nonce is the
// associated data: the key ID and the delivery's ID travel in clear (a
// queue may deduplicate by the ID) but cannot be altered, and Open checks
// that the sealed delivery carries the same ID as the envelope, so that a
// job cannot be passed off as another. The plaintext is padded with JSON
// white space to a multiple of 1 KiB, so that decoys and real deliveries
// are stored at the same size.
package sealedjob

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/recoverykit/recoverykit/recovery"
)

// version is the first byte of every envelope.
const version = 1

// info labels the derived keys, so that they are never the keys the engine
// hashes codes with.
const info = "recoverykit outbox seal v1"

const nonceSize = 12

// padTo rounds the plaintext up to a multiple of this many bytes (with
// JSON white space), so that a stored decoy is as long as a real delivery
// and a job's size tells little about the user.
const padTo = 1024

// ErrOpen is wrapped by Open's errors when a job cannot be opened: it is
// malformed, was altered, or names a key the Sealer does not have.
var ErrOpen = errors.New("sealedjob: cannot open the job")

// Sealer seals deliveries for storage in a queue and opens them again.
// It is safe for concurrent use.
type Sealer struct {
	first string                 // the key ID new jobs are sealed under
	aeads map[string]cipher.AEAD // by key ID
}

// NewSealer derives a sealing key from each of keys. The first seals new
// jobs; every one opens the jobs sealed under it, so that jobs queued
// before a key rotation still open while the old key is listed after the
// new one. Errors name the key at fault, never its secret.
func NewSealer(keys []recovery.Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("sealedjob: no keys: give at least one recovery.Key (the engine's Config.Keys)")
	}
	s := &Sealer{first: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		switch {
		case k.ID == "" || len(k.ID) > 255:
			return nil, fmt.Errorf("sealedjob: key %d has an ID of %d bytes: use 1 to 255", i, len(k.ID))
		case len(k.Secret) < 32:
			return nil, fmt.Errorf("sealedjob: key %q has a %d-byte secret: use at least 32 random bytes", k.ID, len(k.Secret))
		case s.aeads[k.ID] != nil:
			return nil, fmt.Errorf("sealedjob: key ID %q is used twice", k.ID)
		}
		dk, err := hkdf.Key(sha256.New, k.Secret, nil, info, 32)
		if err != nil {
			return nil, fmt.Errorf("sealedjob: deriving the key of %q: %w", k.ID, err)
		}
		block, err := aes.NewCipher(dk)
		if err != nil {
			return nil, fmt.Errorf("sealedjob: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("sealedjob: key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// Seal encrypts d under the first key. Its error never contains d's
// content.
func (s *Sealer) Seal(d recovery.Delivery) ([]byte, error) {
	if d.ID == "" || len(d.ID) > 255 {
		return nil, fmt.Errorf("sealedjob: the delivery's ID has %d bytes: it needs 1 to 255", len(d.ID))
	}
	plain, err := json.Marshal(d)
	if err != nil {
		// json only fails on types a Delivery does not have; say which
		// without the value.
		return nil, fmt.Errorf("sealedjob: encoding delivery %s: %T", d.ID, err)
	}
	if r := len(plain) % padTo; r != 0 {
		plain = append(plain, bytes.Repeat([]byte{' '}, padTo-r)...)
	}
	header := make([]byte, 0, 3+len(s.first)+len(d.ID)+nonceSize+len(plain)+16)
	header = append(header, version, byte(len(s.first)))
	header = append(header, s.first...)
	header = append(header, byte(len(d.ID)))
	header = append(header, d.ID...)
	n := len(header)
	out := header[:n+nonceSize]
	if _, err := rand.Read(out[n:]); err != nil {
		return nil, fmt.Errorf("sealedjob: drawing a nonce: %w", err)
	}
	return s.aeads[s.first].Seal(out, out[n:], plain, header[:n]), nil
}

// Open decrypts a job sealed by Seal under any of the Sealer's keys. Its
// errors wrap ErrOpen and never contain the job's content.
func (s *Sealer) Open(sealed []byte) (recovery.Delivery, error) {
	keyID, id, rest, n, err := parse(sealed)
	if err != nil {
		return recovery.Delivery{}, err
	}
	aead := s.aeads[keyID]
	if aead == nil {
		return recovery.Delivery{}, fmt.Errorf("%w: it is sealed under key %q, which is not among the keys (rotated out too early?)", ErrOpen, keyID)
	}
	plain, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], sealed[:n])
	if err != nil {
		return recovery.Delivery{}, fmt.Errorf("%w: delivery %s: it was altered, or sealed under another key with the ID %q", ErrOpen, id, keyID)
	}
	var d recovery.Delivery
	if err := json.Unmarshal(plain, &d); err != nil {
		return recovery.Delivery{}, fmt.Errorf("%w: delivery %s: its content is not a delivery", ErrOpen, id)
	}
	if d.ID != id {
		return recovery.Delivery{}, fmt.Errorf("%w: the envelope of %s holds another delivery", ErrOpen, id)
	}
	return d, nil
}

// ID returns the delivery ID a sealed job carries in clear, without
// opening it.
func ID(sealed []byte) (string, error) {
	_, id, _, _, err := parse(sealed)
	return id, err
}

// parse splits an envelope: the key ID, the delivery ID, the nonce and
// ciphertext, and the length of the associated data.
func parse(b []byte) (keyID, id string, rest []byte, n int, err error) {
	bad := func(what string) (string, string, []byte, int, error) {
		return "", "", nil, 0, fmt.Errorf("%w: %s", ErrOpen, what)
	}
	if len(b) < 2 {
		return bad("it is too short")
	}
	if b[0] != version {
		return bad(fmt.Sprintf("unknown envelope version %d", b[0]))
	}
	k := int(b[1])
	if len(b) < 3+k {
		return bad("it is truncated")
	}
	keyID = string(b[2 : 2+k])
	l := int(b[2+k])
	n = 3 + k + l
	if len(b) < n+nonceSize+16 {
		return bad("it is truncated")
	}
	return keyID, string(b[3+k : n]), b[n:], n, nil
}
