package web_test

import (
	"bytes"
	"context"
	"mime"
	"mime/multipart"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// filePart adds a file part with a client-chosen Content-Type.
func filePart(w *multipart.Writer, filename, ctype string, content []byte) {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "attachment", "filename": filename}))
	h.Set("Content-Type", ctype)
	p, _ := w.CreatePart(h)
	_, _ = p.Write(content)
}

// rawMultipart builds a ticket form with one file whose part header
// claims ctype.
func rawMultipart(filename, ctype string, content []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("title", "Upload")
	_ = w.WriteField("category", "Technical")
	_ = w.WriteField("description", "d")
	filePart(w, filename, ctype, content)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// TestSpoofedUploads: the stored type comes from the content alone
// (never the name or the part's Content-Type); active content is refused;
// what is accepted is stored under a random key with a safe name and
// served so that no browser runs it.
func TestSpoofedUploads(t *testing.T) {
	t.Parallel()
	pdfJS := []byte("%PDF-1.4\n1 0 obj<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(document.cookie)) >> >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n")
	gifJS := append([]byte("GIF89a=1;alert(document.domain);//"), bytes.Repeat([]byte{0}, 32)...)
	xhtml := []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>`)
	tests := []struct {
		name, filename, ctype string
		content               []byte
		status                int
		wantType, wantName    string
		inline                bool
	}{
		{"HTML named .png, claimed image/png", "cat.png", "image/png", htmlFile, 415, "", "", false},
		{"HTML after a BOM", "page.txt", "text/plain", append([]byte("\xef\xbb\xbf"), htmlFile...), 415, "", "", false},
		{"HTML after a comment", "notes.txt", "text/plain", []byte("  <!-- hi --><script>alert(1)</script>"), 415, "", "", false},
		{"XHTML", "page.xhtml", "application/xhtml+xml", xhtml, 415, "", "", false},
		{"SVG with script", "logo.svg", "image/svg+xml", svgFile, 415, "", "", false},
		{"SVG named .png", "logo.png", "image/png", svgFile, 415, "", "", false},
		{"shell script", "run.sh", "text/plain", []byte("#!/bin/sh\nrm -rf /\n"), 415, "", "", false},
		{"PDF with JavaScript", "invoice.pdf", "application/pdf", pdfJS, 201, "application/pdf", "invoice.pdf", true},
		{"GIF/JS polyglot named .js", "evil.js", "application/javascript", gifJS, 201, "image/gif", "evil.js.gif", true},
		{"PNG claimed text/html", "x.html", "text/html", pngFile, 201, "image/png", "x.html.png", true},
		{"text with markup", "readme.html", "text/html", []byte("hello <script>alert(1)</script>"), 201, "text/plain", "readme.html.txt", false},
		{"JSON with markup", "data.json", "text/html", []byte(`{"a":"<script>alert(1)</script>"}`), 201, "application/json", "data.json", false},
		{"traversal", "../../../../etc/cron.d/x", "text/plain", textFile, 201, "text/plain", "x.txt", false},
		{"Windows traversal", `..\..\Windows\win.ini`, "text/plain", textFile, 201, "text/plain", "win.ini", false},
		{"dots only", "....//....//", "text/plain", textFile, 201, "text/plain", "attachment.txt", false},
		{"RTL override", "invoice\u202egnp.exe", "image/png", pngFile, 201, "image/png", "invoicegnp.exe.png", true},
		{"zero width and isolates", "a\u200bb\u2066c\u2069\ufeff.txt", "text/plain", textFile, 201, "text/plain", "abc.txt", false},
		{"NUL and newline", "a\x00b\r\nContent-Type: text/html.txt", "text/plain", textFile, 201, "text/plain", "html.txt", false},
		{"very long", strings.Repeat("é", 600) + ".txt", "text/plain", textFile, 201, "text/plain", "", false},
	}
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := webtest.New(t, eng.Open(t), webtest.Options{})
			jane := e.CreateUser(t, "jane", desk.RoleUser)
			ticket := ticketID(t, e, jane.Access, "For replies")
			stored := 0
			for _, tt := range tests {
				body, ct := rawMultipart(tt.filename, tt.ctype, tt.content)
				for _, path := range []string{"/api/tickets", "/api/tickets/" + itoa(ticket) + "/comments"} {
					if strings.HasSuffix(path, "comments") {
						body = bytes.Replace(body, []byte(`name="title"`), []byte(`name="body"`), 1)
					}
					r := e.Do(t, "POST", path, body, jane.Access, "Content-Type", ct)
					if r.Status != tt.status {
						t.Errorf("%s → %s: %d %s", tt.name, path, r.Status, r.Body)
						continue
					}
					if tt.status != 201 {
						if r.JSON["attachment"] == nil {
							t.Errorf("%s: no attachment error: %s", tt.name, r.Body)
						}
						continue
					}
					stored++
					a := r.JSON["attachments"].([]any)[0].(map[string]any)
					name := a["filename"].(string)
					if a["content_type"] != tt.wantType || (tt.wantName != "" && name != tt.wantName) || len(name) > desk.MaxFilenameLen ||
						!utf8.ValidString(name) || strings.ContainsAny(name, "/\\\x00\r\n") {
						t.Errorf("%s: stored as %v %q", tt.name, a["content_type"], name)
					}
					checkServed(t, e, jane, tt.name, int64(a["id"].(float64)), tt.wantType, name, tt.inline)
				}
			}
			if n := e.BlobCount(t); n != stored {
				t.Errorf("%d blobs for %d accepted files", n, stored)
			}
			// Keys are the server's own: no name reaches the storage path.
			_ = e.Blobs.Keys(context.Background(), func(k string) error {
				if !blobKeyRE.MatchString(k) {
					t.Errorf("blob key %q", k)
				}
				return nil
			})
			assertNoIntents(t, e)
		})
	}
}

var blobKeyRE = regexp.MustCompile(`^[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.[a-z0-9]+$`)

// checkServed fetches an attachment (preview and download) and checks
// the headers that keep a browser from running it.
func checkServed(t *testing.T, e *webtest.Env, u *webtest.User, what string, id int64, ctype, name string, inline bool) {
	t.Helper()
	for _, suffix := range []string{"", "/download"} {
		r := e.Do(t, "GET", "/api/attachments/"+itoa(id)+suffix, nil, u.Access)
		h := r.Header
		disp, params, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
		wantDisp := "attachment"
		if inline && suffix == "" {
			wantDisp = "inline"
		}
		if r.Status != 200 || !strings.HasPrefix(h.Get("Content-Type"), ctype) || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Cross-Origin-Resource-Policy") != "same-origin" ||
			disp != wantDisp || params["filename"] != name {
			t.Errorf("%s%s served as %d %v", what, suffix, r.Status, h)
		}
		checkSecurityHeaders(t, what+suffix, h)
	}
}
