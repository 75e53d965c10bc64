package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"ticketflow/internal/desk"
)

// tempPrefix starts the names of files being written. Keys never contain a
// dot before their hex part, so a temporary file can never be taken for an
// object, and Keys skips them. A temporary file is named after its key
// (tempPrefix + the key's base name + "." + random), so that Delete can
// remove what a crash in the middle of Put left behind.
const tempPrefix = ".tmp-"

// Disk stores objects as files under one directory: key yyyy/mm/hex.ext is
// the file <dir>/yyyy/mm/hex.ext. Files are 0600 and directories 0700.
// A Disk is safe for concurrent use, including by several processes sharing
// the directory.
type Disk struct {
	dir string
}

// NewDisk returns a Disk rooted at dir, creating dir (0700) if needed.
// It fails if dir cannot be created or is not a directory.
func NewDisk(dir string) (*Disk, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: disk dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("blob: disk dir: %w", err)
	}
	return &Disk{dir: abs}, nil
}

func (d *Disk) path(key string) string { return filepath.Join(d.dir, filepath.FromSlash(key)) }

// Put writes r to a temporary file next to the final one, fsyncs it, renames
// it into place and fsyncs the directory, so after a crash the key holds
// either the old bytes or the new ones. The temporary file is removed on any
// error; one left by a crash is removed by Delete of the same key. A full
// disk is a KindUnavailable error.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
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
	final := d.path(key)
	if err := d.mkdirs(filepath.Dir(final)); err != nil {
		return diskErr(err)
	}
	f, err := os.CreateTemp(filepath.Dir(final), tempPrefix+filepath.Base(final)+".*") // mode 0600
	if err != nil {
		return diskErr(err)
	}
	if err := writeSync(f, src); err != nil {
		os.Remove(f.Name())
		return src.result(diskErr(err))
	}
	if err := os.Rename(f.Name(), final); err != nil {
		os.Remove(f.Name())
		return diskErr(err)
	}
	return diskErr(syncDir(filepath.Dir(final)))
}

// writeSync copies src into f, flushes it to stable storage and closes it.
func writeSync(f *os.File, src io.Reader) error {
	_, err := io.Copy(f, src)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirs creates dir and its parents below d.dir (0700), fsyncing the parent
// of every directory it creates so the new entries survive a crash.
func (d *Disk) mkdirs(dir string) error {
	if dir == d.dir {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := d.mkdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made by a concurrent Put
		}
		return err
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open returns the file for key and its size; the caller closes it.
// A missing key is desk.ErrNotFound.
func (d *Disk) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, desk.ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("blob: %s is not a regular file: %v", key, err)
	}
	return f, fi.Size(), nil
}

// Delete removes the file for key, and any temporary file that a Put of key
// interrupted by a crash left behind, and fsyncs the directory. A missing
// key is not an error. Callers delete a key only once its upload is over
// (failed, discarded, or abandoned by a dead process), so the temporary
// files of the key belong to nobody.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := d.path(key)
	removed := false
	temps, _ := filepath.Glob(filepath.Join(filepath.Dir(p), tempPrefix+filepath.Base(p)+".*"))
	for _, name := range append(temps, p) {
		if err := os.Remove(name); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		removed = true
	}
	if !removed {
		return nil
	}
	return syncDir(filepath.Dir(p))
}

// Keys walks the directory and calls fn for every file whose path is a valid
// key; temporary files and anything foreign are skipped. It stops at the
// first error from fn or ctx.
func (d *Disk) Keys(ctx context.Context, fn func(key string) error) error {
	return filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(d.dir, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); ValidKey(key) && e.Type().IsRegular() {
			return fn(key)
		}
		return nil
	})
}

// diskErr turns a full disk (or exhausted quota) into a KindUnavailable
// error with a message an administrator can act on; other errors pass.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return desk.Wrap(desk.KindUnavailable, err, "The server's storage is full.")
	}
	return err
}
