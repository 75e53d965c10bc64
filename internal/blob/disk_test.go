package blob

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"ticketflow/internal/desk"
)

func TestDiskPermissionsAndTempFiles(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := NewDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	key := NewKey("txt")
	if err := d.Put(t.Context(), key, strings.NewReader("hello"), 5, "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(t.Context(), NewKey("txt"), strings.NewReader("short"), 9, "text/plain"); err == nil {
		t.Fatal("Put of a short body succeeded")
	}
	// A stray temporary file (a crash mid-Put) and a foreign file are not keys.
	month := filepath.Dir(d.path(key))
	for _, name := range []string{tempPrefix + "123", "README"} {
		if err := os.WriteFile(filepath.Join(month, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700 | fs.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Name() != tempPrefix+"123" {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := d.Keys(t.Context(), func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != key {
		t.Errorf("Keys = %q, want [%s]", keys, key)
	}
}

func TestNewDiskOnAFile(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDisk(f); err == nil {
		t.Error("NewDisk on a regular file succeeded")
	}
}

// A real full disk cannot be arranged portably in a test; the mapping of the
// error the kernel returns is checked instead.
func TestDiskErr(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := diskErr(&fs.PathError{Op: "write", Path: "/x", Err: errno})
		var de *desk.Error
		if !desk.IsKind(err, desk.KindUnavailable) || !errors.As(err, &de) || de.Message != "The server's storage is full." {
			t.Errorf("diskErr(%v) = %v, want KindUnavailable \"The server's storage is full.\"", errno, err)
		}
	}
	other := &fs.PathError{Op: "write", Path: "/x", Err: syscall.EIO}
	if err := diskErr(other); err != other {
		t.Errorf("diskErr(EIO) = %v, want it unchanged", err)
	}
}

// A crash in the middle of Put leaves a temporary file named after the key;
// deleting the key (what orphan collection does) removes it, and nothing
// else.
func TestDiskDeleteRemovesCrashedTempFiles(t *testing.T) {
	t.Parallel()
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	crashed, other := NewKey("png"), NewKey("png")
	if err := d.Put(t.Context(), other, strings.NewReader("kept"), 4, "image/png"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(d.path(crashed))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(dir, tempPrefix+filepath.Base(crashed)+".4711")
	foreign := filepath.Join(dir, tempPrefix+filepath.Base(other)+".4712") // another upload's
	for _, p := range []string{half, foreign} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Delete(t.Context(), crashed); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(half); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the crashed upload's temporary file survived Delete: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("Delete removed another key's temporary file: %v", err)
	}
	if rc, _, err := d.Open(t.Context(), other); err != nil {
		t.Errorf("other key: %v", err)
	} else {
		rc.Close()
	}
}
