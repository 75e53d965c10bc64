package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountSmallDisk mounts a tmpfs of size bytes on dir (which must exist)
// and unmounts it when the test ends; register it before anything that
// keeps files open there. Mounting needs root (CAP_SYS_ADMIN): without it
// the test is skipped, and fails under CI.
func mountSmallDisk(t *testing.T, dir string, size int) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+strconv.Itoa(size)+",mode=0700"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a small tmpfs to fill (root needed): %v", err)
		}
		t.Skipf("cannot mount a small tmpfs to fill (root needed; CI=true makes this fail): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Logf("unmount %s: %v; detaching it", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// fill writes a file on dir's file system until it is full, then gives
// back free bytes (rounded to pages) so that small writes still fit.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		m, err := f.Write(chunk)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(n - free); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestDiskFull fills the file system holding the attachments and uploads:
// the client gets a clear 503 ("storage is full", Retry-After), nothing is
// half-written (no ticket, no blob, not even a ticket's files that did fit,
// no reservation), small uploads still work, and once space is freed the
// same server takes the big upload.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	att := filepath.Join(dataDir, "attachments")
	if err := os.MkdirAll(att, 0o700); err != nil {
		t.Fatal(err)
	}
	mountSmallDisk(t, att, 2<<20)
	s := startServer(t, envFunc(), "--data-dir", dataDir)
	token := registerAndLogin(t, s.url, "full")
	db := sqlDB(t, dataDir, "")
	client := &http.Client{Timeout: 30 * time.Second}
	ctx := context.Background()

	filler := fill(t, att, 96<<10)
	big, small := randomUpload(400<<10), randomUpload(8<<10)
	refused := func(title string, files ...upload) {
		t.Helper()
		code, m, err := createTicket(ctx, client, s.url, token, title, "disk full", files)
		if err != nil || code != 503 || !strings.Contains(m["detail"].(string), "storage is full") {
			t.Fatalf("%s: %d %v %v", title, code, m, err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM tickets WHERE title = ?`, title).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d tickets stored (%v)", title, n, err)
		}
	}
	refused("one big file", big)
	refused("a file that fits, then one that does not", small, big)
	nothingHalfWritten(t, db, att)

	// Small uploads still work on the nearly full disk.
	code, m, err := createTicket(ctx, client, s.url, token, "small", "fits", []upload{small})
	if err != nil || code != 201 {
		t.Fatalf("small upload on a nearly full disk: %d %v %v", code, m, err)
	}
	smallID := int64(m["attachments"].([]any)[0].(map[string]any)["id"].(float64))

	// Space comes back: the same server takes the big file.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	code, m, err = createTicket(ctx, client, s.url, token, "big", "after space was freed", []upload{big})
	if err != nil || code != 201 {
		t.Fatalf("upload after space was freed: %d %v %v\n%s", code, m, err, s.stderr)
	}
	bigID := int64(m["attachments"].([]any)[0].(map[string]any)["id"].(float64))
	for id, want := range map[int64]string{smallID: small.sum(), bigID: big.sum()} {
		if got, err := download(client, s.url, token, id); err != nil || got != want {
			t.Errorf("attachment %d: %s %v, want %s", id, got, err, want)
		}
	}
	nothingHalfWritten(t, db, att)
}

// nothingHalfWritten checks that the attachment directory holds exactly the
// committed attachments (and the filler) and no upload reservation is open.
func nothingHalfWritten(t *testing.T, db *sql.DB, att string) {
	t.Helper()
	if problem := orphans(t, db, filepath.Dir(att), "filler"); problem != "" {
		t.Error(problem)
	}
}
