package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// NewOpaqueToken returns a random 256-bit token (URL-safe base64) and the
// SHA-256 digest under which it is stored.
func NewOpaqueToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the digest under which an opaque token is stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// EqualTokens compares two tokens in constant time.
func EqualTokens(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// MinSecretLen is the shortest signing secret accepted.
const MinSecretLen = 32

// ErrWeakSecret is returned for signing secrets that are too short or known.
var ErrWeakSecret = errors.New("auth: the signing secret is too short or a known default; delete it to have a new one generated")

// Issuer signs and verifies access tokens: HS256 JWTs carrying the user id
// and the user's token version, with a required expiry.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	// verified remembers tokens that passed Verify, by their exact text,
	// so that a client's next requests with the same token skip parsing
	// and the HMAC. Expiry is still checked on every use. A forged token
	// cannot hit the cache: its text differs from every verified one.
	mu       sync.RWMutex
	verified map[string]AccessClaims
}

// verifiedMax bounds the cache of verified tokens (about 300 bytes each);
// when it is full it is emptied and refilled by the tokens still in use.
const verifiedMax = 8192

// leeway is the clock skew tolerated on a token's expiry.
const leeway = 5 * time.Second

const issuerName = "ticketflow"

// NewIssuer returns an Issuer. It refuses secrets shorter than MinSecretLen
// bytes and well-known defaults.
func NewIssuer(secret []byte, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	if len(secret) < MinSecretLen || knownBadSecret(string(secret)) {
		return nil, ErrWeakSecret
	}
	return &Issuer{secret: secret, ttl: ttl, now: now, verified: map[string]AccessClaims{}}, nil
}

func knownBadSecret(s string) bool {
	for _, bad := range []string{"changeme", "secret", "django-insecure", "your-secret-key", "development"} {
		if len(s) >= len(bad) && s[:len(bad)] == bad {
			return true
		}
	}
	return false
}

// AccessClaims are what an access token asserts.
type AccessClaims struct {
	UserID       int64
	TokenVersion int64
	ExpiresAt    time.Time
}

type claims struct {
	TokenVersion int64  `json:"tv"`
	Type         string `json:"typ"`
	jwt.RegisteredClaims
}

// Issue returns a signed access token for the user.
func (i *Issuer) Issue(userID, tokenVersion int64) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(i.ttl)
	c := claims{TokenVersion: tokenVersion, Type: "access", RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuerName,
		Subject:   strconv.FormatInt(userID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
	return s, exp, err
}

// ErrInvalidToken is returned for any token that does not verify.
var ErrInvalidToken = errors.New("auth: token is invalid or expired")

// Verify checks a token's algorithm (HS256 only), signature, issuer, type
// and expiry (required), and returns its claims.
func (i *Issuer) Verify(token string) (AccessClaims, error) {
	i.mu.RLock()
	c, ok := i.verified[token]
	i.mu.RUnlock()
	if ok {
		if !i.now().Before(c.ExpiresAt.Add(leeway)) {
			return AccessClaims{}, ErrInvalidToken
		}
		return c, nil
	}
	c, err := i.verify(token)
	if err != nil {
		return c, err
	}
	i.mu.Lock()
	if len(i.verified) >= verifiedMax {
		clear(i.verified)
	}
	i.verified[token] = c
	i.mu.Unlock()
	return c, nil
}

func (i *Issuer) verify(token string) (AccessClaims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuer(issuerName),
		jwt.WithTimeFunc(i.now), jwt.WithLeeway(leeway))
	if err != nil || c.Type != "access" {
		return AccessClaims{}, ErrInvalidToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 {
		return AccessClaims{}, ErrInvalidToken
	}
	return AccessClaims{UserID: id, TokenVersion: c.TokenVersion, ExpiresAt: c.ExpiresAt.Time}, nil
}
