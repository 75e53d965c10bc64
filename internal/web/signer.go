package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// urlSigner makes attachment links that work without an Authorization
// header (an <img src> in the seeds' clients): each link names the viewer
// it was made for and expires. The viewer's right to the ticket is still
// checked on every request; the signature only stands in for their token.
type urlSigner struct {
	key    []byte
	now    func() time.Time
	states sync.Pool // *macState
}

// signedURLLifetime is how long a link stays valid at least; links are
// stable within an hour so that browsers can cache the bytes.
const signedURLLifetime = time.Hour

// macState is one HMAC under the signer's key with its scratch space,
// reused through urlSigner.states: a list page signs two links per
// attachment, and a new HMAC allocates its two SHA-256 states and pads.
type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func (s *urlSigner) state() *macState {
	if m, ok := s.states.Get().(*macState); ok {
		return m
	}
	return &macState{h: hmac.New(sha256.New, s.key), buf: make([]byte, 0, 128)}
}

// appendMAC appends the signature of (attID, viewer, exp) to dst.
func (s *urlSigner) appendMAC(dst []byte, attID, viewer, exp int64) []byte {
	m := s.state()
	b := append(m.buf[:0], "attachment:"...)
	b = strconv.AppendInt(b, attID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, viewer, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, exp, 10)
	m.h.Reset()
	m.h.Write(b)
	dst = base64.RawURLEncoding.AppendEncode(dst, m.h.Sum(m.sum[:0])[:18])
	m.buf = b
	s.states.Put(m)
	return dst
}

func (s *urlSigner) sign(attID, viewer int64, now time.Time) string {
	exp := now.Truncate(time.Hour).Add(2 * signedURLLifetime).Unix()
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], viewer, 36)
	b = append(b, '.')
	b = strconv.AppendInt(b, exp, 36)
	b = append(b, '.')
	return string(s.appendMAC(b, attID, viewer, exp))
}

// verify returns the viewer a token was made for if it is genuine, for
// this attachment, and unexpired.
func (s *urlSigner) verify(token string, attID int64) (int64, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, false
	}
	viewer, err1 := strconv.ParseInt(parts[0], 36, 64)
	exp, err2 := strconv.ParseInt(parts[1], 36, 64)
	if err1 != nil || err2 != nil || viewer <= 0 || s.now().Unix() >= exp {
		return 0, false
	}
	var want [32]byte
	if !hmac.Equal([]byte(parts[2]), s.appendMAC(want[:0], attID, viewer, exp)) {
		return 0, false
	}
	return viewer, true
}
