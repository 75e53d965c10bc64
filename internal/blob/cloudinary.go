package blob

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudinary/cloudinary-go/v2/api"
	"github.com/cloudinary/cloudinary-go/v2/api/uploader"
	"github.com/cloudinary/cloudinary-go/v2/config"

	"ticketflow/internal/desk"
)

// Cloudinary stores objects as private ("authenticated") Cloudinary assets.
// Images are "image" assets, everything else "raw" (see assetFor). Objects
// are downloaded through signed delivery URLs, so they are never public.
// It is safe for concurrent use.
//
// Limits: objects are at most CloudinaryMaxBytes; Cloudinary rejects empty
// files, so Put of an empty body is a KindInvalid error. Cloudinary cannot
// enumerate keys cheaply, so Cloudinary is not a Lister.
type Cloudinary struct {
	cfg  CloudinaryConfig
	api  *uploader.API
	http *http.Client
}

// NewCloudinary returns a Cloudinary store for cfg. It makes no request.
func NewCloudinary(cfg CloudinaryConfig) (*Cloudinary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// The configuration is built by hand rather than with config.NewFromURL,
	// which decodes through a package-level decoder that it also mutates
	// (a data race when stores are created concurrently).
	up, err := uploader.NewWithConfiguration(&config.Configuration{
		Cloud: config.Cloud{
			CloudName:          cfg.CloudName,
			APIKey:             cfg.APIKey,
			APISecret:          cfg.APISecret,
			SignatureAlgorithm: cfg.SignatureAlgorithm,
			SignatureVersion:   2,
		},
		API: config.API{
			UploadPrefix: cfg.UploadPrefix,
			Timeout:      int64(cfg.Timeout / time.Second),
			ChunkSize:    20_000_000, // the SDK's default; only *os.File uploads are chunked
		},
	})
	if err != nil {
		return nil, fmt.Errorf("blob: Cloudinary: %w", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = cfg.Timeout
	return &Cloudinary{cfg: cfg, api: up, http: &http.Client{Transport: t}}, nil
}

// Put uploads r as a private asset, replacing any asset with the same public
// ID (Cloudinary commits an upload only once its whole body has arrived).
// A body over CloudinaryMaxBytes is a KindTooLarge error, detected from size
// before any request, or while streaming when size is -1; an empty body is
// KindInvalid. The whole upload runs under a deadline of cfg.Timeout.
func (c *Cloudinary) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case size > CloudinaryMaxBytes:
		return desk.Errorf(desk.KindTooLarge, "The file is too large (the limit is %d bytes).", CloudinaryMaxBytes)
	case size == 0:
		return desk.Errorf(desk.KindInvalid, "The file is empty.")
	}
	a := assetFor(key)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	src := newSource(ctx, r, size, CloudinaryMaxBytes)
	res, err := c.api.Upload(ctx, src, uploader.UploadParams{
		PublicID:     a.publicID,
		ResourceType: a.resourceType,
		Type:         api.Authenticated,
		Overwrite:    api.Bool(true),
		Invalidate:   api.Bool(true), // a replaced asset must not be served from the CDN cache
	})
	src.close()
	if err != nil {
		return src.result(desk.Wrap(desk.KindUnavailable, err, "The attachment service is unavailable."))
	}
	if res.Error.Message != "" { // the SDK reports API rejections with err == nil
		return cloudinaryErr(res.Error.Message)
	}
	if res.PublicID != a.publicID || res.ResourceType != a.resourceType || int64(res.Bytes) != src.count() {
		c.destroy(context.WithoutCancel(ctx), res.ResourceType, res.PublicID)
		return fmt.Errorf("blob: Cloudinary stored %s %q (%d bytes), want %s %q (%d bytes)",
			res.ResourceType, res.PublicID, res.Bytes, a.resourceType, a.publicID, src.count())
	}
	return nil
}

// cloudinaryErr maps an API error message to an error kind.
func cloudinaryErr(msg string) error {
	cause := fmt.Errorf("cloudinary: %s", msg)
	switch {
	case strings.HasPrefix(msg, "File size too large"):
		return desk.Wrap(desk.KindTooLarge, cause, fmt.Sprintf("The file is too large (the limit is %d bytes).", CloudinaryMaxBytes))
	case strings.HasPrefix(msg, "Empty file"):
		return desk.Wrap(desk.KindInvalid, cause, "The file is empty.")
	}
	return desk.Wrap(desk.KindUnavailable, cause, "The attachment service refused the request.")
}

// Open downloads the asset through its signed delivery URL. The body is
// read under ctx. The size is the response's Content-Length, or -1 if the
// CDN did not send one. A missing asset is desk.ErrNotFound.
func (c *Cloudinary) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.deliveryURL(assetFor(key)), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, desk.Wrap(desk.KindUnavailable, err, "The attachment service is unavailable.")
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, resp.ContentLength, nil
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, 0, desk.ErrNotFound
	}
	resp.Body.Close()
	err = fmt.Errorf("blob: Cloudinary delivery of %s: %s", key, resp.Status)
	if resp.StatusCode >= 500 || resp.StatusCode == 420 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, 0, desk.Wrap(desk.KindUnavailable, err, "The attachment service is unavailable.")
	}
	return nil, 0, err // 401/403: a wrong secret or a wrong delivery type is a bug
}

// Delete destroys the asset and invalidates CDN copies. An asset that does
// not exist ("not found") is not an error.
func (c *Cloudinary) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	a := assetFor(key)
	return c.destroy(ctx, a.resourceType, a.publicID)
}

func (c *Cloudinary) destroy(ctx context.Context, resourceType, publicID string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	res, err := c.api.Destroy(ctx, uploader.DestroyParams{
		PublicID:     publicID,
		Type:         api.Authenticated,
		ResourceType: resourceType,
		Invalidate:   api.Bool(true),
	})
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return desk.Wrap(desk.KindUnavailable, err, "The attachment service is unavailable.")
	case res.Error.Message != "":
		return cloudinaryErr(res.Error.Message)
	case res.Result == "ok" || res.Result == "not found":
		return nil
	}
	return fmt.Errorf("blob: Cloudinary destroy of %s %q: result %q", resourceType, publicID, res.Result)
}
