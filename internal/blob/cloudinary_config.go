package blob

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Cloudinary defaults.
const (
	DefaultCloudinaryUploadPrefix   = "https://api.cloudinary.com"
	DefaultCloudinaryDeliveryPrefix = "https://res.cloudinary.com"
	DefaultCloudinaryTimeout        = 5 * time.Minute
	// CloudinaryMaxBytes is the per-file limit of Cloudinary's free plan for
	// image and raw files, which is also TicketFlow's attachment limit.
	CloudinaryMaxBytes = 10_485_760
)

// CloudinaryConfig holds a Cloudinary account's credentials and endpoints.
type CloudinaryConfig struct {
	CloudName string
	APIKey    string
	APISecret string
	// UploadPrefix is the base URL of the Upload API
	// (default DefaultCloudinaryUploadPrefix; a local fake in tests).
	UploadPrefix string
	// DeliveryPrefix is the base URL that delivery paths are appended to
	// (default DefaultCloudinaryDeliveryPrefix).
	DeliveryPrefix string
	// SignatureAlgorithm is "sha1" (default) or "sha256", as set on the
	// account; it applies to API and delivery signatures.
	SignatureAlgorithm string
	// Timeout bounds every API call, including a whole upload
	// (default DefaultCloudinaryTimeout), and the wait for a download's
	// response headers.
	Timeout time.Duration
}

// ParseCloudinaryURL parses the CLOUDINARY_URL convention
//
//	cloudinary://API_KEY:API_SECRET@CLOUD_NAME?upload_prefix=...&delivery_prefix=...&signature_algorithm=sha256
//
// upload_prefix and signature_algorithm are the SDK's own parameters;
// delivery_prefix is TicketFlow's, to point downloads at a fake. Other query
// parameters are ignored, as the SDK ignores parameters it does not know.
func ParseCloudinaryURL(s string) (CloudinaryConfig, error) {
	u, err := url.Parse(s)
	if err != nil {
		return CloudinaryConfig{}, fmt.Errorf("blob: CLOUDINARY_URL: %w", err)
	}
	if u.Scheme != "cloudinary" || u.Host == "" || u.User == nil {
		return CloudinaryConfig{}, errors.New("blob: CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME")
	}
	secret, _ := u.User.Password()
	q := u.Query()
	cfg := CloudinaryConfig{
		CloudName:          u.Host,
		APIKey:             u.User.Username(),
		APISecret:          secret,
		UploadPrefix:       q.Get("upload_prefix"),
		DeliveryPrefix:     q.Get("delivery_prefix"),
		SignatureAlgorithm: q.Get("signature_algorithm"),
	}
	return cfg, cfg.validate()
}

// withDefaults fills the zero fields.
func (c CloudinaryConfig) withDefaults() CloudinaryConfig {
	if c.UploadPrefix == "" {
		c.UploadPrefix = DefaultCloudinaryUploadPrefix
	}
	if c.DeliveryPrefix == "" {
		c.DeliveryPrefix = DefaultCloudinaryDeliveryPrefix
	}
	if c.SignatureAlgorithm == "" {
		c.SignatureAlgorithm = "sha1"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultCloudinaryTimeout
	}
	c.UploadPrefix = strings.TrimRight(c.UploadPrefix, "/")
	c.DeliveryPrefix = strings.TrimRight(c.DeliveryPrefix, "/")
	return c
}

// validate checks a configuration with or without defaults applied.
func (c CloudinaryConfig) validate() error {
	if c.CloudName == "" || c.APIKey == "" || c.APISecret == "" {
		return errors.New("blob: Cloudinary needs a cloud name, an API key and an API secret")
	}
	switch c.SignatureAlgorithm {
	case "", "sha1", "sha256":
	default:
		return fmt.Errorf("blob: Cloudinary signature algorithm %q is not sha1 or sha256", c.SignatureAlgorithm)
	}
	for _, p := range []string{c.UploadPrefix, c.DeliveryPrefix} {
		if p == "" {
			continue
		}
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("blob: Cloudinary prefix %q is not an http(s) URL", p)
		}
	}
	return nil
}
