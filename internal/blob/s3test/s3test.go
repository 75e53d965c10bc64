// Package s3test runs a real S3-compatible server for tests: versitygw
// (github.com/versity/versitygw) with its posix backend in a temporary
// directory. versitygw checks SigV4 signatures, so a test against it
// exercises the same request signing as production.
//
// The binary is found at $VERSITYGW, else on $PATH, else in
// $(go env GOPATH)/bin. Install it with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// When it is missing the test is skipped locally and fails when $CI is set.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ticketflow/internal/blob"
)

// Install is the command that installs the pinned versitygw.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// startTimeout bounds the wait for a started server to answer.
const startTimeout = 20 * time.Second

// Start runs versitygw on a free loopback port with an empty bucket, and
// stops it (by the PID it started) when tb ends. Each returned config has a
// fresh random Prefix, so callers may share a server and still get
// independent, empty stores with WithPrefix.
func Start(tb testing.TB) blob.S3Config {
	tb.Helper()
	bin := binary(tb)
	cfg := blob.S3Config{
		Region:    "us-east-1",
		Bucket:    "ticketflow-test",
		AccessKey: "AKIA" + randomHex(8),
		SecretKey: randomHex(20),
	}
	var lastErr error
	for range 3 { // the free port found may be taken before versitygw binds it
		cfg.Endpoint = freeAddr(tb)
		if lastErr = run(tb, bin, cfg); lastErr == nil {
			return WithPrefix(cfg)
		}
	}
	tb.Fatalf("s3test: versitygw did not start: %v", lastErr)
	return blob.S3Config{}
}

// WithPrefix returns cfg with a new random key prefix.
func WithPrefix(cfg blob.S3Config) blob.S3Config {
	cfg.Prefix = "t-" + randomHex(6) + "/"
	return cfg
}

// run starts versitygw for cfg and waits until the bucket exists.
func run(tb testing.TB, bin string, cfg blob.S3Config) error {
	dir := tb.TempDir()
	out := &syncBuffer{}
	cmd := exec.Command(bin,
		"--access", cfg.AccessKey, "--secret", cfg.SecretKey, "--region", cfg.Region,
		"--port", cfg.Endpoint, "--quiet",
		"posix", dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill() // the process this helper started, by its PID
		<-exited
	}
	if err := makeBucket(cfg, exited); err != nil {
		stop()
		return &startError{err: err, output: out.String()}
	}
	tb.Cleanup(stop)
	return nil
}

// makeBucket creates the bucket through the S3 API, retrying until the
// server answers, the process exits, or startTimeout passes.
func makeBucket(cfg blob.S3Config, exited <-chan struct{}) error {
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Region: cfg.Region,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err = client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return err
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// binary finds versitygw or ends the test as the package comment says.
func binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "versitygw")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("s3test: versitygw not found ($VERSITYGW, $PATH, $(go env GOPATH)/bin); install it with: %s", Install)
	}
	tb.Skipf("s3test: versitygw not found; install it with: %s", Install)
	return ""
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type startError struct {
	err    error
	output string
}

func (e *startError) Error() string { return e.err.Error() + "; versitygw output:\n" + e.output }

// syncBuffer collects the server's output, written from exec's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
