package blob

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ticketflow/internal/desk"
)

// DefaultS3PartSize is the multipart part size used when S3Config.PartSize is
// zero. minio-go buffers one part in memory per upload of unknown size (and
// per upload larger than one part), so the part size is the memory bound of
// an upload: 5 MiB is the smallest part S3 accepts, which keeps ten
// concurrent uploads near 50 MiB and still allows objects up to 50 GB
// (10,000 parts), far beyond TicketFlow's 10 MB attachments.
const DefaultS3PartSize = 5 << 20

// S3Config locates a bucket on an S3-compatible service.
type S3Config struct {
	Endpoint  string // host:port, without scheme
	Region    string // e.g. "us-east-1"; empty lets the client discover it
	Bucket    string // must exist
	AccessKey string
	SecretKey string
	UseTLS    bool   // https to the endpoint
	Insecure  bool   // with UseTLS, skip certificate verification (tests only)
	Prefix    string // optional folder for all keys; a trailing "/" is added
	PartSize  uint64 // multipart part size; 0 means DefaultS3PartSize
}

// S3 stores objects in an S3-compatible bucket under Prefix+key. It is safe
// for concurrent use.
type S3 struct {
	client   *minio.Client
	bucket   string
	prefix   string
	partSize uint64
}

// NewS3 connects to cfg's endpoint and checks that the bucket exists, so
// that a wrong configuration fails at start-up. An unreachable service is a
// KindUnavailable error.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob: S3 endpoint and bucket are required")
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	}
	if cfg.UseTLS && cfg.Insecure {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		opts.Transport = t
	}
	client, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize}
	if s.prefix != "" && !strings.HasSuffix(s.prefix, "/") {
		s.prefix += "/"
	}
	if s.partSize == 0 {
		s.partSize = DefaultS3PartSize
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %q: %w", cfg.Bucket, unavailable(err))
	}
	if !ok {
		return nil, fmt.Errorf("blob: S3 bucket %q does not exist", cfg.Bucket)
	}
	return s, nil
}

// Put uploads r. Objects up to one part go in a single streamed PUT; larger
// or unknown-size objects use a multipart upload, which S3 makes visible only
// when it completes. On failure the multipart upload is aborted, so neither a
// partial nor a new object is left under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src := newSource(ctx, r, size, 0)
	if err := src.checkEmpty(); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, src, size, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    s.partSize,
	})
	src.close()
	if err != nil {
		s.abortIncomplete(ctx, key)
		return src.result(unavailable(err))
	}
	return nil
}

// abortIncomplete removes what a failed multipart upload left behind
// (invisible to readers, but billed). minio-go aborts with the caller's ctx,
// which fails when that ctx was cancelled, so retry on a short detached one.
func (s *S3) abortIncomplete(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.client.RemoveIncompleteUpload(ctx, s.bucket, s.prefix+key) // best effort
}

// Open returns the object's body and size; the body is read under ctx.
// minio-go's GetObject is lazy, so
// Open stats the object first: a missing key is desk.ErrNotFound here, not
// at the first read.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, s3Err(err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, 0, s3Err(err)
	}
	return obj, info.Size, nil
}

// Delete removes the object. S3 reports success for a missing key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return unavailable(err)
	}
	return nil
}

// Keys lists the objects under the prefix and calls fn for each valid key.
func (s *S3) Keys(ctx context.Context, fn func(key string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return unavailable(obj.Err)
		}
		if key := strings.TrimPrefix(obj.Key, s.prefix); ValidKey(key) {
			if err := fn(key); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// s3Err maps a missing object to desk.ErrNotFound and the rest through
// unavailable.
func s3Err(err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return desk.ErrNotFound
	}
	return unavailable(err)
}

// unavailable marks transport failures and server errors (5xx, throttling)
// as KindUnavailable; context errors and anything else pass unchanged.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == 0 || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return desk.Wrap(desk.KindUnavailable, err, "The attachment storage is unavailable.")
	}
	return err
}
