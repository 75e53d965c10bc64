package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func allowAll(string) bool { return true }

// archive writes files (name → content) and returns the archive's bytes.
func archive(t *testing.T, files map[string]string, names ...string) []byte {
	t.Helper()
	src := t.TempDir()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, name := range names {
		p := filepath.Join(src, strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(p, []byte(files[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := w.AddFile(name, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Manifest{Version: "test", CreatedAt: time.Now(), Database: "sqlite", Counts: map[string]int64{"tickets": 1}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewrite decompresses an archive, lets edit change its entries, and
// compresses it again (a well-formed archive with altered content).
func rewrite(t *testing.T, b []byte, edit func(hdr *tar.Header, body []byte) (*tar.Header, []byte)) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr, body = edit(hdr, body); hdr == nil {
			continue
		}
		hdr.Size = int64(len(body))
		tw.WriteHeader(hdr)
		tw.Write(body)
	}
	tw.Close()
	gw.Close()
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	files := map[string]string{"ticketflow.db": "database", "attachments/2026/01/ab.png": "png bytes"}
	b := archive(t, files, "ticketflow.db", "attachments/2026/01/ab.png")
	dir := t.TempDir()
	m, err := Extract(bytes.NewReader(b), dir, allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || m.Database != "sqlite" || len(m.Files) != 2 || m.Counts["tickets"] != 1 {
		t.Errorf("manifest: %+v", m)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
}

func TestDamagedArchives(t *testing.T) {
	t.Parallel()
	files := map[string]string{"ticketflow.db": "database", "attachments/a.png": strings.Repeat("attachment ", 1000)}
	good := archive(t, files, "ticketflow.db", "attachments/a.png")
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	cases := map[string]struct {
		archive []byte
		want    string
	}{
		"not gzip":  {[]byte("hello"), "not a gzip file"},
		"truncated": {good[:len(good)*2/3], "damaged"},
		"flipped":   {flipped, "damaged"},
		"altered file": {rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "attachments/a.png" {
				b[10] ^= 1
			}
			return h, b
		}), "attachments/a.png does not match its checksum"},
		"no manifest": {rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == ManifestName {
				return nil, nil
			}
			return h, b
		}), "no manifest"},
		"file missing": {rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "ticketflow.db" {
				return nil, nil
			}
			return h, b
		}), "ticketflow.db is listed in the manifest but missing"},
		"escaping path": {rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "ticketflow.db" {
				h.Name = "../evil"
			}
			return h, b
		}), `unexpected entry "../evil"`},
		"symlink": {rewrite(t, good, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "ticketflow.db" {
				h.Typeflag, h.Linkname = tar.TypeSymlink, "/etc/passwd"
				return h, nil
			}
			return h, b
		}), "not a regular file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Extract(bytes.NewReader(c.archive), t.TempDir(), allowAll)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Extract: %v, want %q", err, c.want)
			}
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("%v is not ErrDamaged", err)
			}
		})
	}
	// A name the caller does not allow is refused too.
	_, err := Extract(bytes.NewReader(good), t.TempDir(), func(n string) bool { return n == "ticketflow.db" })
	if err == nil || !strings.Contains(err.Error(), "unexpected entry") {
		t.Errorf("disallowed name: %v", err)
	}
}
