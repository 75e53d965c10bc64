package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestURLSigner checks that links carry the HMAC-SHA256 of what they name
// (so links made before the signer reused its state still verify), that
// they verify only for their attachment and until they expire, and that
// signing from many goroutines at once gives every one its own answer.
func TestURLSigner(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	s := &urlSigner{key: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return now }}
	want := func(att, viewer, exp int64) string {
		m := hmac.New(sha256.New, s.key)
		fmt.Fprintf(m, "attachment:%d:%d:%d", att, viewer, exp)
		return strconv.FormatInt(viewer, 36) + "." + strconv.FormatInt(exp, 36) + "." +
			base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
	}
	exp := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC).Unix()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				att, viewer := int64(g*1000+i+1), int64(i%7+1)
				tok := s.sign(att, viewer, now)
				if w := want(att, viewer, exp); tok != w {
					t.Errorf("sign(%d, %d) = %q, want %q", att, viewer, tok, w)
					return
				}
				if v, ok := s.verify(tok, att); !ok || v != viewer {
					t.Errorf("verify(%q, %d) = %d, %v", tok, att, v, ok)
					return
				}
				if _, ok := s.verify(tok, att+1); ok {
					t.Errorf("a link for %d opens %d", att, att+1)
					return
				}
			}
		})
	}
	wg.Wait()
	tok := s.sign(42, 3, now)
	if _, ok := s.verify(strings.Replace(tok, "3.", "4.", 1), 42); ok {
		t.Error("a link made for viewer 3 verifies for viewer 4")
	}
	now = time.Unix(exp, 0)
	if _, ok := s.verify(tok, 42); ok {
		t.Error("an expired link verifies")
	}
}

// BenchmarkSign measures signing one attachment link (a list page signs
// two per attachment).
func BenchmarkSign(b *testing.B) {
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	s := &urlSigner{key: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return now }}
	for i := int64(0); b.Loop(); i++ {
		s.sign(i, 7, now)
	}
}
