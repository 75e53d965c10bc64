package cloudinaryfake

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// unsigned reports whether a parameter is left out of signatures.
func unsigned(name string) bool {
	switch name {
	case "file", "cloud_name", "resource_type", "api_key", "signature":
		return true
	}
	return false
}

// arrayBase returns "tags" for the SDK's indexed array parameter "tags[0]",
// and any other name unchanged.
func arrayBase(name string) string {
	i := strings.LastIndexByte(name, '[')
	if i <= 0 || !strings.HasSuffix(name, "]") || len(name) < i+3 {
		return name
	}
	for _, c := range name[i+1 : len(name)-1] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

// StringToSign returns the string an API request's signature is computed
// over, before the secret is appended: every parameter except file,
// cloud_name, resource_type, api_key and signature, sorted by name, as
// name=value joined with "&". Array parameters (repeated, or indexed as
// name[0], name[1]) are joined with ",". Following the SDK's signature
// version 2, a "&" inside a value is written as "%26" so that it cannot
// smuggle in another parameter.
func StringToSign(params url.Values) string {
	merged := map[string][]string{}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names) // so that name[0], name[1], … keep their order
	for _, name := range names {
		base := arrayBase(name)
		if unsigned(base) {
			continue
		}
		merged[base] = append(merged[base], params[name]...)
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.ReplaceAll(strings.Join(merged[k], ","), "&", "%26")
	}
	return strings.Join(parts, "&")
}

// Sign returns the lowercase hex digest of toSign+secret with algo, "sha1"
// (also for "") or "sha256".
func Sign(toSign, secret, algo string) string {
	if algo == "sha256" {
		s := sha256.Sum256([]byte(toSign + secret))
		return hex.EncodeToString(s[:])
	}
	s := sha1.Sum([]byte(toSign + secret))
	return hex.EncodeToString(s[:])
}

// SignParams returns the signature of an API request's parameters.
func SignParams(params url.Values, secret, algo string) string {
	return Sign(StringToSign(params), secret, algo)
}

// DeliverySignature returns the signature component of a delivery URL:
// "s--" + the first 8 characters of base64url(SHA(toSign + secret)) + "--",
// where toSign is "<transformation>/<public_id>.<ext>" (or just the public
// ID with extension when there is no transformation; never the version).
func DeliverySignature(toSign, secret, algo string) string {
	var sum []byte
	if algo == "sha256" {
		s := sha256.Sum256([]byte(toSign + secret))
		sum = s[:]
	} else {
		s := sha1.Sum([]byte(toSign + secret))
		sum = s[:]
	}
	return "s--" + base64.RawURLEncoding.EncodeToString(sum)[:8] + "--"
}

// equal compares two signatures in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
