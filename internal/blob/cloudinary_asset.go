package blob

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// cloudinaryAsset is where a key lives in Cloudinary.
type cloudinaryAsset struct {
	resourceType string // "image" or "raw"
	publicID     string // raw: the whole key; image: the key without extension
	file         string // publicID plus extension: the last part of a delivery URL
}

// assetFor maps a key to its Cloudinary asset. Images (jpg, jpeg, png, gif,
// webp) are stored as "image" so that thumbnails can be derived later; every
// other type, PDFs included, is "raw": Cloudinary serves raw files byte for
// byte on every plan, whereas PDFs stored as images are blocked from delivery
// on free accounts and encrypted PDFs fail to process. Raw public IDs keep
// their extension, as Cloudinary requires.
func assetFor(key string) cloudinaryAsset {
	ext := keyExt(key)
	switch ext {
	case "jpg", "jpeg", "png", "gif", "webp":
		return cloudinaryAsset{resourceType: "image", publicID: strings.TrimSuffix(key, "."+ext), file: key}
	}
	return cloudinaryAsset{resourceType: "raw", publicID: key, file: key}
}

// deliveryURL returns the signed URL of the original asset, of the form
// <prefix>/<cloud>/<resource_type>/authenticated/s--SIG--/v1/<file>.
// "v1" stands for any version, as the SDK does for public IDs with folders,
// so that the first folder is not taken for a transformation.
func (c *Cloudinary) deliveryURL(a cloudinaryAsset) string {
	sig := deliverySignature(a.file, c.cfg.APISecret, c.cfg.SignatureAlgorithm)
	return c.cfg.DeliveryPrefix + "/" + c.cfg.CloudName + "/" + a.resourceType + "/authenticated/" + sig + "/v1/" + a.file
}

// deliverySignature returns the URL signature component for toSign (the
// transformation, if any, "/" and the public ID with extension; the version
// is not signed): "s--" + the first 8 characters of
// base64url(SHA(toSign + secret)) + "--".
func deliverySignature(toSign, secret, algo string) string {
	var sum []byte
	if algo == "sha256" {
		h := sha256.Sum256([]byte(toSign + secret))
		sum = h[:]
	} else {
		h := sha1.Sum([]byte(toSign + secret))
		sum = h[:]
	}
	return "s--" + base64.RawURLEncoding.EncodeToString(sum)[:8] + "--"
}
