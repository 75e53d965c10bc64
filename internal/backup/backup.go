// Package backup reads and writes TicketFlow backup archives: one gzip'd
// tar holding the database (an SQLite snapshot or a pg_dump), the local
// attachment files, and last a manifest (manifest.json) with the size and
// SHA-256 of every file. Extract refuses an archive that does not match its
// manifest. The package knows nothing of databases: package main decides
// what goes in and what a restored file means.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Format is the archive layout version this package writes and reads.
const Format = 1

// ManifestName is the manifest's name in the archive; it is the last entry.
const ManifestName = "manifest.json"

// maxManifest bounds the manifest read into memory (about 150 bytes a file).
const maxManifest = 256 << 20

// Manifest describes an archive.
type Manifest struct {
	Format        int       `json:"format"`
	Version       string    `json:"ticketflow_version"`
	CreatedAt     time.Time `json:"created_at"`
	Database      string    `json:"database"` // "sqlite" or "postgres"
	SchemaVersion int64     `json:"schema_version"`
	// PostgresSchema is the schema a PostgreSQL dump recreates.
	PostgresSchema string `json:"postgres_schema,omitempty"`
	// Counts are table sizes at the moment of the snapshot.
	Counts map[string]int64 `json:"counts"`
	// Attachments says whether attachment files are in the archive, and
	// if not, where they are.
	Attachments string `json:"attachments"`
	Files       []File `json:"files"`
}

// File is one archived file.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Writer writes an archive. Add files, then Close with the manifest.
type Writer struct {
	gz    *gzip.Writer
	tw    *tar.Writer
	files []File
	seen  map[string]bool
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer) *Writer {
	gz := gzip.NewWriter(w)
	return &Writer{gz: gz, tw: tar.NewWriter(gz), seen: map[string]bool{}}
}

// AddFile archives the regular file at src under name (a slash-separated
// relative path). It fails if the file changes size while being read.
func (w *Writer) AddFile(name, src string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if w.seen[name] {
		return fmt.Errorf("backup: %s added twice", name)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("backup: %s is not a regular file", src)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: 0o600, ModTime: fi.ModTime().UTC(), Format: tar.FormatPAX}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), io.LimitReader(f, fi.Size()))
	if err != nil {
		return fmt.Errorf("backup: read %s: %w", src, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("backup: %s shrank while being read", src)
	}
	w.seen[name] = true
	w.files = append(w.files, File{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// Files returns what has been added so far.
func (w *Writer) Files() []File { return w.files }

// Close writes the manifest (its Files and Format are filled in) as the
// last entry and finishes the archive. It does not close the underlying
// writer.
func (w *Writer) Close(m Manifest) error {
	m.Format, m.Files = Format, w.files
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(b)), Mode: 0o600, ModTime: m.CreatedAt.UTC(), Format: tar.FormatPAX}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := w.tw.Write(b); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return err
	}
	return w.gz.Close()
}

// checkName accepts clean, relative, slash-separated paths only.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") ||
		strings.Contains(name, "\\") || name == ManifestName {
		return fmt.Errorf("backup: bad file name %q", name)
	}
	return nil
}

// ErrDamaged marks an archive that cannot be trusted: unreadable,
// truncated, or not matching its manifest.
var ErrDamaged = errors.New("the backup archive is damaged")

// Extract reads an archive from r and writes its files under dir, which
// must exist. allow decides which names belong in an archive (anything
// else is refused, as are links, devices and paths leaving dir). Every file
// is checked against the manifest, and the manifest against the files:
// a missing, extra, resized or altered file is an error wrapping
// ErrDamaged. Files are written 0600 (directories 0700) and fsynced. On
// error, files already written stay: the caller removes them.
func Extract(r io.Reader, dir string, allow func(name string) bool) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a gzip file: %v", ErrDamaged, err)
	}
	tr := tar.NewReader(gz)
	got := map[string]File{}
	var m *Manifest
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		if m != nil {
			return nil, fmt.Errorf("%w: %s follows the manifest", ErrDamaged, hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: %s is not a regular file", ErrDamaged, hdr.Name)
		}
		if hdr.Name == ManifestName {
			if m, err = readManifest(tr, hdr.Size); err != nil {
				return nil, err
			}
			continue
		}
		if err := checkName(hdr.Name); err != nil || !allow(hdr.Name) {
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrDamaged, hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return nil, fmt.Errorf("%w: %s appears twice", ErrDamaged, hdr.Name)
		}
		f, err := writeFile(dir, hdr.Name, tr, hdr.Size)
		if err != nil {
			return nil, err
		}
		got[hdr.Name] = f
	}
	// The gzip trailer (CRC-32 and length) is checked once the stream is
	// read to its end.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: no manifest (the archive is incomplete)", ErrDamaged)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("backup format %d is not supported by this version (it reads format %d)", m.Format, Format)
	}
	for _, want := range m.Files {
		f, ok := got[want.Path]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %s is listed in the manifest but missing", ErrDamaged, want.Path)
		case f.Size != want.Size || f.SHA256 != want.SHA256:
			return nil, fmt.Errorf("%w: %s does not match its checksum (sha256 %s, manifest %s)", ErrDamaged, want.Path, f.SHA256, want.SHA256)
		}
		delete(got, want.Path)
	}
	for name := range got {
		return nil, fmt.Errorf("%w: %s is not listed in the manifest", ErrDamaged, name)
	}
	return m, syncTree(dir)
}

func readManifest(r io.Reader, size int64) (*Manifest, error) {
	if size > maxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes", ErrDamaged, size)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, size)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: unreadable manifest: %v", ErrDamaged, err)
	}
	return &m, nil
}

// writeFile writes size bytes of r to dir/name, hashing them.
func writeFile(dir, name string, r io.Reader, size int64) (File, error) {
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return File{}, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	src := &readErr{r: io.LimitReader(r, size)}
	n, err := io.Copy(io.MultiWriter(out, h), src)
	switch {
	case src.err != nil:
		err = fmt.Errorf("%w: %s: %v", ErrDamaged, name, src.err)
	case err != nil:
		err = fmt.Errorf("restore %s: %w", name, err)
	case n != size:
		err = fmt.Errorf("%w: %s is truncated", ErrDamaged, name)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return File{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// readErr remembers a read error, to tell a damaged archive from a failing
// disk.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// syncTree fsyncs every directory under dir (files were synced as they
// were written), so that the restored names survive a crash.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
