package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// cheap keeps the tests fast; the encoding carries the parameters.
var cheap = Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHasher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(cheap, 2)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("Hash = %q, %v", enc, err)
	}
	if ok, err := h.Verify(ctx, enc, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if ok, _ := h.Verify(ctx, enc, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	enc2, _ := h.Hash(ctx, "correct horse battery")
	if enc2 == enc {
		t.Fatal("salt not random")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "pbkdf2_sha256$1$x$y"} {
		if ok, err := h.Verify(ctx, bad, "x"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v", bad, ok, err)
		}
	}
	if !NewHasher(DefaultParams, 1).NeedsRehash(enc) || h.NeedsRehash(enc) {
		t.Error("NeedsRehash wrong")
	}
	h.VerifyDummy(ctx, "anything") // must not panic
	// The dummy costs what a real verification costs: it decodes, with the
	// hasher's parameters and a full-length key.
	if p, salt, key, err := decodeHash(h.dummy); err != nil || p != cheap || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("dummy %q: %+v, %d-byte salt, %d-byte key, %v", h.dummy, p, len(salt), len(key), err)
	}
	if other := NewHasher(cheap, 1); other.dummy == h.dummy {
		t.Fatal("the dummy is not random")
	}
	// A cancelled context cannot take a hashing slot once all are busy.
	busy := NewHasher(cheap, 1)
	busy.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := busy.Hash(cctx, "x"); err == nil {
		t.Fatal("Hash ignored a cancelled context")
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := NewPolicy(8)
	good := []string{"correct horse battery staple", "Tr0ub4dor&3x", "someone is not my password"}
	for _, pw := range good {
		if msgs := p.Check(pw, "someone", "someone@test.com"); len(msgs) != 0 {
			t.Errorf("Check(%q) = %v", pw, msgs)
		}
	}
	// The seeds' documented registration example must be accepted.
	if msgs := p.Check("Nouveau123!@#", "nouveauuser", "nouveau@test.com"); len(msgs) != 0 {
		t.Errorf("seed example rejected: %v", msgs)
	}
	bad := map[string]string{
		"short1!":                       "too short",
		"password1":                     "too common",
		"PASSWORD123":                   "too common",
		"qwertyuiop":                    "too common",
		"1234567890123":                 "entirely numeric",
		strings.Repeat("x", 257) + "Y1": "too long",
		"abc\x00defghijk":               "invalid characters",
	}
	for pw, want := range bad {
		msgs := p.Check(pw, "janedoe", "jane@example.com")
		if !strings.Contains(strings.Join(msgs, " "), want) {
			t.Errorf("Check(%q) = %v, want %q", pw, msgs, want)
		}
	}
	if NewPolicy(4).MinLength != 8 {
		t.Error("minimum below 8 accepted")
	}
}

func TestOpaqueTokens(t *testing.T) {
	t.Parallel()
	a, ha := NewOpaqueToken()
	b, _ := NewOpaqueToken()
	if a == b || len(a) != 43 || string(HashToken(a)) != string(ha) {
		t.Fatalf("tokens: %q %q", a, b)
	}
	if !EqualTokens(a, a) || EqualTokens(a, b) {
		t.Fatal("EqualTokens")
	}
}

func TestIssuer(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	secret := []byte(strings.Repeat("k", 32))
	iss, err := NewIssuer(secret, 15*time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, weak := range []string{"", "short", "changeme-changeme-changeme-changeme", "django-insecure-0123456789012345678901234"} {
		if _, err := NewIssuer([]byte(weak), time.Minute, clock); err != ErrWeakSecret {
			t.Errorf("weak secret %q accepted", weak)
		}
	}
	tok, exp, err := iss.Issue(42, 7)
	if err != nil || !exp.Equal(now.Add(15*time.Minute)) {
		t.Fatal(err)
	}
	c, err := iss.Verify(tok)
	if err != nil || c.UserID != 42 || c.TokenVersion != 7 {
		t.Fatalf("Verify = %+v, %v", c, err)
	}

	other, _ := NewIssuer([]byte(strings.Repeat("z", 32)), time.Minute, clock)
	forged, _, _ := other.Issue(42, 7)
	later, _ := NewIssuer(secret, 15*time.Minute, func() time.Time { return now.Add(16 * time.Minute) })
	sign := func(method jwt.SigningMethod, key any, cl jwt.Claims) string {
		s, err := jwt.NewWithClaims(method, cl).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := claims{TokenVersion: 7, Type: "access", RegisteredClaims: jwt.RegisteredClaims{Issuer: issuerName, Subject: "42",
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}}
	noExp := valid
	noExp.ExpiresAt = nil
	refreshType := valid
	refreshType.Type = "refresh"
	wrongIss := valid
	wrongIss.Issuer = "someone"
	badSub := valid
	badSub.Subject = "-1"
	header, payload, _ := strings.Cut(tok, ".")
	payload, sig, _ := strings.Cut(payload, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	body, _ := json.Marshal(map[string]any{"sub": "1", "tv": 0, "typ": "access", "iss": issuerName, "exp": now.Add(time.Hour).Unix()})
	elevated := base64.RawURLEncoding.EncodeToString(body)

	tampered := map[string]string{
		"wrong key":         forged,
		"expired":           "",
		"alg none":          noneHeader + "." + payload + ".",
		"alg none elevated": noneHeader + "." + elevated + ".",
		"payload swapped":   header + "." + elevated + "." + sig,
		"HS512":             sign(jwt.SigningMethodHS512, secret, valid),
		"no exp":            sign(jwt.SigningMethodHS256, secret, noExp),
		"refresh type":      sign(jwt.SigningMethodHS256, secret, refreshType),
		"wrong issuer":      sign(jwt.SigningMethodHS256, secret, wrongIss),
		"bad subject":       sign(jwt.SigningMethodHS256, secret, badSub),
		"garbage":           "not.a.jwt",
		"empty":             "",
		"opaque refresh":    func() string { s, _ := NewOpaqueToken(); return s }(),
	}
	for name, tok2 := range tampered {
		v := iss
		if name == "expired" {
			v, tok2 = later, tok
		}
		if _, err := v.Verify(tok2); err != ErrInvalidToken {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	if _, err := iss.Verify(sign(jwt.SigningMethodHS256, secret, valid)); err != nil {
		t.Errorf("hand-made valid token rejected: %v", err)
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(time.Minute, 3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Check("a"); !ok {
			t.Fatalf("refused after %d failures", i)
		}
		l.Fail("a")
	}
	ok, wait := l.Check("a")
	if ok || wait < 59*time.Second || wait > time.Minute {
		t.Fatalf("after burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Check("b"); !ok {
		t.Fatal("other key refused")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Check("a"); !ok {
		t.Fatal("not refilled")
	}
	l.Fail("a")
	if ok, _ := l.Check("a"); ok {
		t.Fatal("refill gave more than one")
	}
	l.Reset("a")
	if ok, _ := l.Check("a"); !ok || l.Len() != 0 {
		t.Fatal("reset failed")
	}
	// Full buckets are swept.
	for i := range 2048 {
		l.Fail(string(rune('A' + i%50)))
	}
	now = now.Add(time.Hour)
	for range 1024 {
		l.Fail("z")
	}
	if l.Len() > 2 {
		t.Fatalf("idle buckets kept: %d", l.Len())
	}
}

// TestIssuerCacheExpiry checks that a token verified once (and so
// remembered) is still refused once it expires, and that the cache stays
// bounded.
func TestIssuerCacheExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	iss, err := NewIssuer([]byte(strings.Repeat("k", 32)), time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := iss.Issue(42, 7)
	for range 2 { // the second call is answered from the cache
		if c, err := iss.Verify(tok); err != nil || c.UserID != 42 || c.TokenVersion != 7 {
			t.Fatalf("Verify = %+v, %v", c, err)
		}
	}
	if _, ok := iss.verified[tok]; !ok {
		t.Fatal("a verified token was not remembered")
	}
	now = now.Add(time.Minute + leeway)
	if _, err := iss.Verify(tok); err != ErrInvalidToken {
		t.Fatalf("expired cached token accepted: %v", err)
	}
	// A token that differs in one signature character is not the cached one.
	now = now.Add(-leeway - time.Second)
	bad := tok[:len(tok)-2] + string('A'+(tok[len(tok)-2]-'A'+1)%26) + tok[len(tok)-1:]
	if _, err := iss.Verify(bad); err != ErrInvalidToken {
		t.Fatalf("altered token accepted: %v", err)
	}
	for i := range verifiedMax + 10 {
		tk, _, _ := iss.Issue(int64(i+1), 0)
		if _, err := iss.Verify(tk); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(iss.verified); n > verifiedMax {
		t.Fatalf("cache holds %d tokens, more than %d", n, verifiedMax)
	}
}
