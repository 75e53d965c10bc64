// Package auth holds TicketFlow's credential primitives: argon2id password
// hashing, the password policy, signed access tokens, opaque random tokens
// for refresh and browser sessions, and rate limiters. It does no storage.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams follow OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane
// (about 36 ms of CPU per hash on the reference machine).
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords, running at most a fixed number of
// hashes at once so that a burst of logins cannot exhaust memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  string // a hash of a random password, verified for unknown users
}

// NewHasher returns a Hasher using params for new hashes and allowing
// concurrency simultaneous computations (at least 1).
func NewHasher(params Params, concurrency int) *Hasher {
	h := &Hasher{params: params, sem: make(chan struct{}, max(concurrency, 1))}
	// The dummy needs the real parameters, not a real hash: a random key
	// matches no password, and verifying against it costs the same work.
	// (Hashing a random password here cost a full argon2id run, about half
	// of start-up, and 19 MiB of garbage.)
	key := make([]byte, keyLen)
	_, _ = rand.Read(key)
	h.dummy = h.encode(randomSalt(), key)
	return h
}

func randomSalt() []byte {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	return salt
}

func (h *Hasher) encode(salt, key []byte) string {
	p := h.params
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hash returns the PHC-format argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	return h.hash(password), nil
}

func (h *Hasher) hash(password string) string {
	salt := randomSalt()
	p := h.params
	return h.encode(salt, argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen))
}

// Verify reports whether password matches encoded, in constant time. An
// encoded value that is not an argon2id hash never matches (and is an error).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// VerifyDummy spends the same work as Verify and always fails. Login calls
// it for unknown accounts so that response time does not reveal which
// accounts exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, h.dummy, password)
}

// NeedsRehash reports whether encoded was made with other parameters than
// the Hasher's current ones.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	return err != nil || p != h.params
}

var errBadHash = errors.New("auth: not an argon2id hash")

func decodeHash(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil ||
		p.MemoryKiB < 8 || p.MemoryKiB > 1<<21 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return Params{}, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
