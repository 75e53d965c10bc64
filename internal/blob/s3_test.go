package blob_test

import (
	"strings"
	"testing"

	"ticketflow/internal/blob"
	"ticketflow/internal/blob/s3test"
	"ticketflow/internal/desk"
)

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	got, err := blob.ParseS3URL("s3://AKIA1:se%2Fcret@minio.local:9000/attachments?region=eu-west-1&tls=false&prefix=tf&insecure=1")
	if err != nil {
		t.Fatal(err)
	}
	want := blob.S3Config{Endpoint: "minio.local:9000", Region: "eu-west-1", Bucket: "attachments",
		AccessKey: "AKIA1", SecretKey: "se/cret", UseTLS: false, Insecure: true, Prefix: "tf"}
	if got != want {
		t.Errorf("ParseS3URL = %+v, want %+v", got, want)
	}
	if got, err := blob.ParseS3URL("s3://k:s@s3.example.com/b"); err != nil || !got.UseTLS || got.Bucket != "b" {
		t.Errorf("defaults: %+v, %v; want TLS on, bucket b", got, err)
	}
	for _, bad := range []string{"", "http://k:s@h/b", "s3://k:s@h", "s3://k:s@h/", "s3://k:s@h/a/b", "s3://k:s@h/b?tls=maybe", "s3://k:s@h/b?regoin=x"} {
		if _, err := blob.ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) succeeded", bad)
		}
	}
}

// versitygw checks SigV4 signatures: a wrong secret must fail, as on S3.
func TestS3WrongSecretOrBucket(t *testing.T) {
	t.Parallel()
	cfg := s3test.Start(t)
	bad := cfg
	bad.SecretKey = "not-" + cfg.SecretKey
	_, err := blob.NewS3(t.Context(), bad)
	if err == nil || desk.IsKind(err, desk.KindUnavailable) || !strings.Contains(err.Error(), "Access Denied") {
		t.Errorf("NewS3 with a wrong secret: %v, want Access Denied (not KindUnavailable)", err)
	}
	bad = cfg
	bad.Bucket = "no-such-bucket"
	if _, err := blob.NewS3(t.Context(), bad); err == nil {
		t.Error("NewS3 with a missing bucket succeeded")
	}
	bad = cfg
	bad.Endpoint = "127.0.0.1:1"
	if _, err := blob.NewS3(t.Context(), bad); !desk.IsKind(err, desk.KindUnavailable) {
		t.Errorf("NewS3 with nothing listening: %v, want KindUnavailable", err)
	}
}
