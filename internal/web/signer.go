package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// urlSigner makes attachment links that work without an Authorization
// header (an <img src> in the seeds' clients): each link names the viewer
// it was made for and expires. The viewer's right to the ticket is still
// checked on every request; the signature only stands in for their token.
type urlSigner struct {
	key []byte
	now func() time.Time
}

// signedURLLifetime is how long a link stays valid at least; links are
// stable within an hour so that browsers can cache the bytes.
const signedURLLifetime = time.Hour

func (s *urlSigner) mac(attID, viewer, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("attachment:" + strconv.FormatInt(attID, 10) + ":" + strconv.FormatInt(viewer, 10) + ":" + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (s *urlSigner) sign(attID, viewer int64, now time.Time) string {
	exp := now.Truncate(time.Hour).Add(2 * signedURLLifetime).Unix()
	return strconv.FormatInt(viewer, 36) + "." + strconv.FormatInt(exp, 36) + "." + s.mac(attID, viewer, exp)
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
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(attID, viewer, exp))) {
		return 0, false
	}
	return viewer, true
}
