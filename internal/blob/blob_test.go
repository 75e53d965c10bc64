package blob_test

import (
	"testing"

	"ticketflow/internal/blob"
	"ticketflow/internal/blob/blobtest"
	"ticketflow/internal/blob/cloudinaryfake"
	"ticketflow/internal/blob/s3test"
)

func newDisk(tb testing.TB) *blob.Disk {
	tb.Helper()
	d, err := blob.NewDisk(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// s3Server starts one versitygw for a test; every store it makes has its own
// prefix, so stores are independent and empty.
func s3Server(tb testing.TB) func(tb testing.TB) *blob.S3 {
	tb.Helper()
	cfg := s3test.Start(tb)
	return func(tb testing.TB) *blob.S3 {
		tb.Helper()
		s, err := blob.NewS3(tb.Context(), s3test.WithPrefix(cfg))
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}

func newCloudinary(tb testing.TB) (*blob.Cloudinary, *cloudinaryfake.Server) {
	tb.Helper()
	fake := cloudinaryfake.Start(tb, cloudinaryfake.Config{})
	cfg, err := blob.ParseCloudinaryURL(fake.CloudinaryURL())
	if err != nil {
		tb.Fatal(err)
	}
	c, err := blob.NewCloudinary(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c, fake
}

func TestDisk(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store { return newDisk(t) })
}

func TestS3(t *testing.T) {
	t.Parallel()
	newS3 := s3Server(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return newS3(t) })
}

func TestCloudinary(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c, _ := newCloudinary(t)
		return c
	}, blobtest.NoEmpty())
}

const tenMB = 10_000_000

func BenchmarkPut10MB(b *testing.B) {
	b.Run("disk", func(b *testing.B) { blobtest.BenchmarkPut(b, newDisk(b), tenMB, true) })
	b.Run("s3", func(b *testing.B) { blobtest.BenchmarkPut(b, s3Server(b)(b), tenMB, true) })
	b.Run("s3-unknown-size", func(b *testing.B) { blobtest.BenchmarkPut(b, s3Server(b)(b), tenMB, false) })
	b.Run("cloudinary", func(b *testing.B) {
		c, _ := newCloudinary(b)
		blobtest.BenchmarkPut(b, c, tenMB, true)
	})
}
