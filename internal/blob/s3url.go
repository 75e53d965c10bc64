package blob

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ParseS3URL parses a configuration string of the form
//
//	s3://ACCESS:SECRET@host:port/bucket?region=us-east-1&tls=false&prefix=x&insecure=true
//
// Access and secret keys must be percent-encoded if they contain reserved
// characters. tls defaults to true; insecure (skip certificate checks) to
// false; region and prefix to empty. Unknown parameters are an error, so a
// typo cannot silently weaken the configuration.
func ParseS3URL(s string) (S3Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return S3Config{}, fmt.Errorf("blob: S3 URL: %w", err)
	}
	if u.Scheme != "s3" || u.Host == "" {
		return S3Config{}, errors.New("blob: S3 URL must look like s3://ACCESS:SECRET@host:port/bucket")
	}
	cfg := S3Config{Endpoint: u.Host, Bucket: strings.Trim(u.Path, "/"), UseTLS: true}
	if cfg.Bucket == "" || strings.Contains(cfg.Bucket, "/") {
		return S3Config{}, errors.New("blob: S3 URL must name exactly one bucket as its path")
	}
	if u.User != nil {
		cfg.AccessKey = u.User.Username()
		cfg.SecretKey, _ = u.User.Password()
	}
	for name, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch name {
		case "region":
			cfg.Region = v
		case "prefix":
			cfg.Prefix = v
		case "tls", "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, fmt.Errorf("blob: S3 URL parameter %s: %w", name, err)
			}
			if name == "tls" {
				cfg.UseTLS = b
			} else {
				cfg.Insecure = b
			}
		default:
			return S3Config{}, fmt.Errorf("blob: unknown S3 URL parameter %q", name)
		}
	}
	return cfg, nil
}
