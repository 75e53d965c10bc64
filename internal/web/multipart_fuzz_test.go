package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
)

// FuzzReadMultipart sends any body through readMultipart as an upload
// request. Properties: it never panics; a failure is a client error (400,
// 413 or 415); no text field longer than maxFieldBytes reaches the
// handler; at most MaxAttachments files are staged, each with an
// allow-listed type, a size within the cap and a safe name; exactly the
// returned files are stored, and discarding them leaves nothing behind.
func FuzzReadMultipart(f *testing.F) {
	const maxUpload = 4 << 10
	ctx := context.Background()
	db := storetest.SQLite(f)
	disk, err := blob.NewDisk(filepath.Join(f.TempDir(), "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }
	issuer, err := auth.NewIssuer([]byte(strings.Repeat("f", 32)), time.Minute, now)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := app.New(app.Config{MaxUploadBytes: maxUpload, MaxAttachments: 2}, app.Deps{Store: db, Blobs: disk,
		Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1), Issuer: issuer,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now})
	if err != nil {
		f.Fatal(err)
	}
	actor := &desk.User{Email: "fuzz@example.com", Username: "fuzz", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: now()}
	if err := db.CreateUser(ctx, actor); err != nil {
		f.Fatal(err)
	}
	part := func(name, filename, body string) string {
		cd := `form-data; name="` + name + `"`
		if filename != "" {
			cd += `; filename="` + filename + `"`
		}
		return "--XB\r\nContent-Disposition: " + cd + "\r\n\r\n" + body + "\r\n"
	}
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	for _, s := range []string{
		part("body", "", "hello") + part("internal", "", "true") + "--XB--\r\n",
		part("body", "", "x") + part("attachment", "../../etc/passwd", "plain text") + "--XB--\r\n",
		part("attachment", "a.png", png) + part("attachment", "b.png", png) + part("attachment", "c.png", png) + "--XB--\r\n",
		part("attachment", "x.svg", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`) + "--XB--\r\n",
		part("attachment", "cat.png", "<!DOCTYPE html><script>alert(1)</script>") + "--XB--\r\n",
		part("attachment", "big.txt", strings.Repeat("x", maxUpload+1)) + "--XB--\r\n",
		part("attachment", "empty.txt", "") + "--XB--\r\n",
		part("attachment", "evil\u202egpj.exe", "text") + "--XB--\r\n",
		part("body", "", strings.Repeat("y", 200)) + "--XB", // cut short
		"--XB\r\nContent-Disposition: form-data; name=\"attachment\"; filename*=UTF-8''%E2%80%AE.txt\r\n\r\nhi\r\n--XB--\r\n",
		"not multipart at all",
	} {
		f.Add("XB", []byte(s))
	}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		req := httptest.NewRequest("POST", "/api/tickets/1/comments", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		fields := 0
		files, err := readMultipart(req, svc, actor, func(name, value string) error {
			fields++
			if len(value) > maxFieldBytes {
				t.Fatalf("field %q of %d bytes reached the handler", name, len(value))
			}
			return nil
		})
		if err != nil {
			if e := unwrapErr(err); e == nil || (e.Kind != desk.KindInvalid && e.Kind != desk.KindTooLarge && e.Kind != desk.KindUnsupported) {
				t.Fatalf("%v is not a client error", err)
			}
		}
		if len(files) > 2 || fields+len(files) > maxParts {
			t.Fatalf("%d fields and %d files accepted", fields, len(files))
		}
		for _, s := range files {
			ft, ok := desk.FileTypeByMIME(s.ContentType)
			if !ok || s.Size < 1 || s.Size > maxUpload || !utf8.ValidString(s.Filename) || s.Filename == "" ||
				len(s.Filename) > desk.MaxFilenameLen || strings.ContainsAny(s.Filename, "/\\\x00") || !strings.Contains(s.Filename, ".") ||
				(!strings.HasSuffix(s.Filename, "."+ft.Ext) && !altExt(s.Filename, ft)) {
				t.Fatalf("staged %+v", s)
			}
		}
		stored := 0
		_ = disk.Keys(ctx, func(string) error { stored++; return nil })
		if stored != len(files) {
			t.Fatalf("%d files stored, %d returned", stored, len(files))
		}
		svc.Discard(ctx, files)
		stored = 0
		_ = disk.Keys(ctx, func(string) error { stored++; return nil })
		intents, _ := db.StaleBlobIntents(ctx, now().Add(time.Hour), 10)
		if stored != 0 || len(intents) != 0 {
			t.Fatalf("after discarding: %d files, intents %v", stored, intents)
		}
	})
}

func altExt(name string, ft desk.FileType) bool {
	for _, a := range ft.Alt {
		if strings.HasSuffix(name, "."+a) {
			return true
		}
	}
	return false
}
