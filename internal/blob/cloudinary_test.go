package blob_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/blob"
	"ticketflow/internal/blob/cloudinaryfake"
	"ticketflow/internal/desk"
)

func testImage(t *testing.T, encode func(io.Writer, image.Image) error) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Images are stored as "image" assets without the extension in the public
// ID; everything else, PDFs included, as "raw" with it.
func TestCloudinaryResourceTypes(t *testing.T) {
	t.Parallel()
	c, fake := newCloudinary(t)
	jpg := func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }
	tests := []struct {
		ext, rtype string
		data       []byte
		keepExt    bool
	}{
		{"png", "image", testImage(t, png.Encode), false},
		{"jpeg", "image", testImage(t, jpg), false},
		{"pdf", "raw", []byte("%PDF-1.7\n..."), true},
		{"docx", "raw", []byte("PK\x03\x04..."), true},
	}
	for _, tt := range tests {
		key := blob.NewKey(tt.ext)
		if err := c.Put(t.Context(), key, bytes.NewReader(tt.data), int64(len(tt.data)), ""); err != nil {
			t.Fatalf("Put %s: %v", tt.ext, err)
		}
		publicID := key
		if !tt.keepExt {
			publicID = strings.TrimSuffix(key, "."+tt.ext)
		}
		if a, ok := fake.Asset(tt.rtype, "authenticated", publicID); !ok || !bytes.Equal(a.Data, tt.data) {
			t.Errorf("%s: no authenticated %s asset %q with the bytes", tt.ext, tt.rtype, publicID)
		}
		rc, size, err := c.Open(t.Context(), key)
		if err != nil {
			t.Fatalf("Open %s: %v", tt.ext, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if size != int64(len(tt.data)) || !bytes.Equal(got, tt.data) {
			t.Errorf("Open %s: %d bytes (size %d), want the %d put", tt.ext, len(got), size, len(tt.data))
		}
		if err := c.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete %s: %v", tt.ext, err)
		}
	}
	if fake.Len() != 0 {
		t.Errorf("%d assets left after Delete", fake.Len())
	}
}

func TestCloudinaryTooLarge(t *testing.T) {
	t.Parallel()
	c, fake := newCloudinary(t)
	const limit = blob.CloudinaryMaxBytes
	key := blob.NewKey("pdf")
	r := &countingReader{r: zeros(limit + 1)}
	if err := c.Put(t.Context(), key, r, limit+1, "application/pdf"); !desk.IsKind(err, desk.KindTooLarge) {
		t.Errorf("Put declared over the limit: %v, want KindTooLarge", err)
	}
	if r.n != 0 {
		t.Errorf("Put read %d bytes of a body declared too large", r.n)
	}
	if err := c.Put(t.Context(), key, zeros(limit+1), -1, "application/pdf"); !desk.IsKind(err, desk.KindTooLarge) {
		t.Errorf("Put of unknown size over the limit: %v, want KindTooLarge", err)
	}
	if fake.Len() != 0 {
		t.Fatal("an oversized upload was stored")
	}
	if err := c.Put(t.Context(), key, zeros(limit), -1, "application/pdf"); err != nil {
		t.Errorf("Put of exactly the limit: %v", err)
	}
}

// API rejections come back from the SDK as err == nil with result.Error set;
// they must still be errors.
func TestCloudinaryRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fake cloudinaryfake.Config
		edit func(*blob.CloudinaryConfig)
	}{
		{"wrong secret", cloudinaryfake.Config{}, func(c *blob.CloudinaryConfig) { c.APISecret = "wrong" }},
		{"wrong api key", cloudinaryfake.Config{}, func(c *blob.CloudinaryConfig) { c.APIKey = "999" }},
		{"clock two hours ahead", cloudinaryfake.Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := cloudinaryfake.Start(t, tt.fake)
			cfg, err := blob.ParseCloudinaryURL(fake.CloudinaryURL())
			if err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			c, err := blob.NewCloudinary(cfg)
			if err != nil {
				t.Fatal(err)
			}
			key := blob.NewKey("txt")
			if err := c.Put(t.Context(), key, strings.NewReader("hi"), 2, "text/plain"); err == nil {
				t.Error("Put succeeded")
			}
			if err := c.Delete(t.Context(), key); err == nil {
				t.Error("Delete succeeded")
			}
			if fake.Len() != 0 {
				t.Error("a rejected upload was stored")
			}
		})
	}
}

// The three separate settings work as well as CLOUDINARY_URL.
func TestCloudinaryConfig(t *testing.T) {
	t.Parallel()
	fake := cloudinaryfake.Start(t, cloudinaryfake.Config{SignatureAlgorithm: "sha256"})
	fc := fake.Config()
	c, err := blob.NewCloudinary(blob.CloudinaryConfig{CloudName: fc.CloudName, APIKey: fc.APIKey, APISecret: fc.APISecret,
		UploadPrefix: fake.URL(), DeliveryPrefix: fake.URL() + "/", SignatureAlgorithm: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	key := blob.NewKey("txt")
	if err := c.Put(t.Context(), key, strings.NewReader("sha256"), -1, "text/plain"); err != nil {
		t.Fatalf("Put on a SHA-256 account: %v", err)
	}
	if rc, _, err := c.Open(t.Context(), key); err != nil {
		t.Errorf("Open on a SHA-256 account: %v", err)
	} else {
		rc.Close()
	}

	got, err := blob.ParseCloudinaryURL("cloudinary://123:s%40cret@demo?upload_prefix=http://127.0.0.1:9&delivery_prefix=http://127.0.0.1:8&secure=true")
	want := blob.CloudinaryConfig{CloudName: "demo", APIKey: "123", APISecret: "s@cret",
		UploadPrefix: "http://127.0.0.1:9", DeliveryPrefix: "http://127.0.0.1:8"}
	if err != nil || got != want {
		t.Errorf("ParseCloudinaryURL = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "cloudinary://demo", "https://k:s@demo", "cloudinary://k@demo",
		"cloudinary://k:s@demo?signature_algorithm=md5", "cloudinary://k:s@demo?upload_prefix=ftp://x"} {
		if _, err := blob.ParseCloudinaryURL(bad); err == nil {
			t.Errorf("ParseCloudinaryURL(%q) succeeded", bad)
		}
	}
	if _, err := blob.NewCloudinary(blob.CloudinaryConfig{CloudName: "demo", APIKey: "k"}); err == nil {
		t.Error("NewCloudinary without a secret succeeded")
	}
}

func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
