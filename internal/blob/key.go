package blob

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"ticketflow/internal/desk"
)

// maxExtLen bounds the extension part of a key ("docx" is 4; 8 leaves room).
const maxExtLen = 8

// NewKey returns a fresh random key of the form yyyy/mm/<32 lowercase hex>
// followed by "." + ext when ext is non-empty. The date is the current UTC
// month; the 128 random bits make keys unguessable and collision-free.
//
// ext must be 1–8 lowercase ASCII letters or digits (e.g. "png", "pdf",
// "docx"); it is derived by the caller from the sniffed content type. An ext
// outside that shape is left out rather than trusted, so the result always
// satisfies ValidKey. Backends may rely on the extension (Cloudinary picks
// the resource type from it).
func NewKey(ext string) string {
	return newKey(time.Now(), ext)
}

func newKey(now time.Time, ext string) string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand documents it)
	now = now.UTC()
	k := fmt.Sprintf("%04d/%02d/%s", now.Year(), int(now.Month()), hex.EncodeToString(b[:]))
	if validExt(ext) {
		k += "." + ext
	}
	return k
}

// ValidKey reports whether key has exactly the shape NewKey produces:
// four digits, "/", a month 01–12, "/", 32 lowercase hex digits, and
// optionally "." and 1–8 lowercase letters or digits. Nothing else (no
// slashes elsewhere, no dots, no upper case) is accepted, so a valid key is
// always a safe relative path.
func ValidKey(key string) bool {
	const base = len("yyyy/mm/") + 32
	if len(key) < base {
		return false
	}
	if !allIn(key[0:4], isDigit) || key[4] != '/' || key[7] != '/' {
		return false
	}
	if mm := key[5:7]; !allIn(mm, isDigit) || mm < "01" || mm > "12" {
		return false
	}
	if !allIn(key[8:base], isHex) {
		return false
	}
	rest := key[base:]
	if rest == "" {
		return true
	}
	return rest[0] == '.' && validExt(rest[1:])
}

// checkKey returns a KindInvalid error for a key that fails ValidKey.
func checkKey(key string) error {
	if ValidKey(key) {
		return nil
	}
	return desk.Invalid("key", "Not a valid attachment key.")
}

// keyExt returns the extension of a valid key, or "".
func keyExt(key string) string {
	for i := len(key) - 1; i >= 0 && key[i] != '/'; i-- {
		if key[i] == '.' {
			return key[i+1:]
		}
	}
	return ""
}

func validExt(ext string) bool {
	return ext != "" && len(ext) <= maxExtLen && allIn(ext, func(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' })
}

func allIn(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' }
