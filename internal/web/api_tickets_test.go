package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// Real file headers, enough for content sniffing.
var (
	pngFile  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"), bytes.Repeat([]byte{0}, 64)...)
	pdfFile  = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	textFile = []byte("Printer log\nE42 paper jam\n")
	svgFile  = []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`)
	htmlFile = []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	exeFile  = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 128)...)
)

func ticketForm(title string) *webtest.Multipart {
	return webtest.NewMultipart().Field("title", title).Field("category", "Technical").Field("description", "Details here")
}

func TestTicketCreateAndRead(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := webtest.New(t, eng.Open(t), webtest.Options{})
			jane := e.CreateUser(t, "jane", desk.RoleUser)
			bob := e.CreateUser(t, "bob", desk.RoleUser)
			admin := e.CreateUser(t, "root", desk.RoleAdmin)

			// JSON create; server-owned fields in the body are ignored.
			r := e.Do(t, "POST", "/api/tickets/", map[string]any{"title": "VPN down", "description": "Cannot connect", "category": "Technical",
				"priority": "high", "status": "Resolved", "created_by": admin.ID, "id": 77}, jane.Access)
			if r.Status != 201 || r.JSON["status"] != "New" || r.JSON["priority"] != "High" || r.JSON["id"] == 77.0 ||
				r.JSON["created_by"].(map[string]any)["username"] != "jane" || r.Header.Get("Location") == "" {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			for _, f := range []string{"id", "title", "description", "category", "status", "priority", "created_by", "assignee", "created_at", "updated_at", "attachments"} {
				if _, ok := r.JSON[f]; !ok {
					t.Errorf("ticket JSON lacks %q", f)
				}
			}
			if _, err := time.Parse(time.RFC3339, r.JSON["created_at"].(string)); err != nil {
				t.Errorf("created_at not RFC 3339: %v", err)
			}
			jid := int64(r.JSON["id"].(float64))
			// Multipart create with two attachments (seed 002's curl).
			m := ticketForm("Printer").File("attachment", "jam.png", pngFile).File("attachment", "report.pdf", pdfFile).Close()
			r = e.Do(t, "POST", "/api/tickets", m, jane.Access)
			if r.Status != 201 {
				t.Fatalf("multipart create: %d %s", r.Status, r.Body)
			}
			atts := r.JSON["attachments"].([]any)
			if len(atts) != 2 || r.JSON["attachment"] == nil {
				t.Fatalf("attachments: %s", r.Body)
			}
			png := atts[0].(map[string]any)
			if png["filename"] != "jam.png" || png["content_type"] != "image/png" || png["size"] != float64(len(pngFile)) ||
				!strings.Contains(png["url"].(string), "/api/attachments/") || !strings.Contains(png["download_url"].(string), "/download") {
				t.Fatalf("attachment JSON: %v", png)
			}
			pid := int64(r.JSON["id"].(float64))
			bid := int64(e.Do(t, "POST", "/api/tickets", map[string]any{"title": "Refund", "description": "x", "category": "Financial"}, bob.Access).JSON["id"].(float64))

			// Detail: owner and admin see it; another user gets 404; anonymous 401.
			for _, c := range []struct {
				who  *webtest.User
				id   int64
				want int
			}{{jane, jid, 200}, {admin, jid, 200}, {bob, jid, 404}, {jane, bid, 404}, {bob, bid, 200}, {jane, 999999, 404}} {
				if r := e.Do(t, "GET", "/api/tickets/"+itoa(c.id), nil, c.who.Access); r.Status != c.want {
					t.Errorf("%s GET ticket %d: %d, want %d", c.who.Username, c.id, r.Status, c.want)
				}
			}
			if r := e.Do(t, "GET", "/api/tickets/"+itoa(jid), nil, ""); r.Status != 401 {
				t.Errorf("anonymous detail: %d", r.Status)
			}
			// Lists are role-scoped.
			if r := e.Do(t, "GET", "/api/tickets", nil, jane.Access); r.JSON["count"] != 2.0 {
				t.Errorf("jane's list: %s", r.Body)
			}
			if r := e.Do(t, "GET", "/api/tickets", nil, admin.Access); r.JSON["count"] != 3.0 {
				t.Errorf("admin's list: %s", r.Body)
			}
			if r := e.Do(t, "GET", "/api/tickets?search=refund", nil, jane.Access); r.JSON["count"] != 0.0 {
				t.Errorf("jane found bob's ticket: %s", r.Body)
			}
			if r := e.Do(t, "GET", "/api/tickets?search=bob", nil, admin.Access); r.JSON["count"] != 1.0 {
				t.Errorf("admin search by username: %s", r.Body)
			}

			// Attachments: owner and admin may read; others get 404.
			aid := int64(png["id"].(float64))
			r = e.Do(t, "GET", "/api/attachments/"+itoa(aid), nil, jane.Access)
			if r.Status != 200 || !bytes.Equal(r.Body, pngFile) || r.Header.Get("Content-Type") != "image/png" ||
				!strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("preview: %d %v", r.Status, r.Header)
			}
			r = e.Do(t, "GET", "/api/attachments/"+itoa(aid)+"/download/", nil, admin.Access)
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || !bytes.Equal(r.Body, pngFile) {
				t.Fatalf("download: %d %v", r.Status, r.Header)
			}
			if r := e.Do(t, "GET", "/api/attachments/"+itoa(aid), nil, "", "If-None-Match", `"x"`); r.Status != 401 {
				t.Errorf("anonymous attachment: %d", r.Status)
			}
			if r := e.Do(t, "GET", "/api/attachments/"+itoa(aid), nil, bob.Access); r.Status != 404 {
				t.Errorf("bob reads jane's attachment: %d", r.Status)
			}
			// Signed links work without a token, for the viewer they were made for only.
			signed := strings.TrimPrefix(png["url"].(string), e.URL)
			if r := e.Do(t, "GET", signed, nil, ""); r.Status != 200 || !bytes.Equal(r.Body, pngFile) {
				t.Errorf("signed link: %d", r.Status)
			}
			other := strings.Replace(signed, "/attachments/"+itoa(aid), "/attachments/"+itoa(aid+1), 1)
			if r := e.Do(t, "GET", other, nil, ""); r.Status != 401 {
				t.Errorf("signed link for another attachment: %d", r.Status)
			}
			if r := e.Do(t, "GET", signed[:len(signed)-2]+"xx", nil, ""); r.Status != 401 {
				t.Errorf("tampered signed link: %d", r.Status)
			}
			e.Clock.Advance(3 * time.Hour)
			if r := e.Do(t, "GET", signed, nil, ""); r.Status != 401 {
				t.Errorf("expired signed link: %d", r.Status)
			}
			e.Login(t, jane)
			e.Login(t, admin)
			e.Login(t, bob)
			// PDF is inline-capable; history is readable by owner and admin only.
			pdf := atts[1].(map[string]any)
			if r := e.Do(t, "GET", "/api/attachments/"+itoa(int64(pdf["id"].(float64))), nil, jane.Access); r.Header.Get("Content-Type") != "application/pdf" || !bytes.Equal(r.Body, pdfFile) {
				t.Errorf("pdf: %v", r.Header)
			}
			if r := e.Do(t, "GET", "/api/tickets/"+itoa(pid)+"/history", nil, bob.Access); r.Status != 404 {
				t.Errorf("bob reads history: %d", r.Status)
			}
		})
	}
}

func TestTicketValidation(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"missing title", map[string]any{"description": "d", "category": "Technical"}, 400, "title"},
		{"bad category", map[string]any{"title": "t", "description": "d", "category": "technical"}, 400, "category"},
		{"bad priority", map[string]any{"title": "t", "description": "d", "category": "Product", "priority": "P0"}, 400, "priority"},
		{"title too long", map[string]any{"title": strings.Repeat("x", 201), "description": "d", "category": "Product"}, 400, "title"},
		{"number as title", map[string]any{"title": 5, "description": "d", "category": "Product"}, 400, "title"},
		{"xss is stored as text", map[string]any{"title": "<script>alert(1)</script>", "description": `"><img src=x onerror=alert(1)>`, "category": "Product"}, 201, ""},
	}
	for _, tt := range tests {
		r := e.Do(t, "POST", "/api/tickets", tt.body, u.Access)
		if r.Status != tt.status || (tt.field != "" && r.JSON[tt.field] == nil) {
			t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "GET", "/api/tickets?search=script", nil, u.Access); r.JSON["count"] != 1.0 ||
		r.JSON["results"].([]any)[0].(map[string]any)["title"] != "<script>alert(1)</script>" {
		t.Errorf("stored text changed: %s", r.Body)
	}
	for _, q := range []string{"category=Hardware", "status=Closed", "status=new", "ordering=title", "ordering=-id;DROP", "ordering=relevance",
		"page=0", "page=abc", "page_size=0", "page_size=101", "cursor=bogus", "page=99999"} {
		if r := e.Do(t, "GET", "/api/tickets?"+q, nil, u.Access); r.Status != 400 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "GET", "/api/tickets?ordering=a;b", nil, u.Access); r.Status != 400 {
		t.Errorf("malformed query: %d", r.Status)
	}
	for _, q := range []string{"search=" + url.QueryEscape("'; DROP TABLE tickets;--"), "search=" + url.QueryEscape(`"unbalanced`),
		"search=" + url.QueryEscape("NEAR(a b)"), "status=Under%20Review", "category=Financial&status=Resolved",
		"ordering=-priority", "ordering=updated_at", "search=x&ordering=relevance", "page=3"} {
		if r := e.Do(t, "GET", "/api/tickets?"+q, nil, u.Access); r.Status != 200 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}

func TestTicketPaging(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	for i := range 45 {
		if r := e.Do(t, "POST", "/api/tickets", map[string]any{"title": fmt.Sprintf("t%02d", i), "description": "d", "category": "Product"}, u.Access); r.Status != 201 {
			t.Fatal(r.Status)
		}
		e.Clock.Advance(time.Second)
	}
	r := e.Do(t, "GET", "/api/tickets", nil, u.Access)
	if r.JSON["count"] != 45.0 || len(r.JSON["results"].([]any)) != 20 || r.JSON["previous"] != nil || r.JSON["next"] == nil {
		t.Fatalf("page 1: %s", r.Body)
	}
	next := r.JSON["next"].(string)
	if !strings.HasPrefix(next, e.URL+"/api/tickets?") || !strings.Contains(next, "page=2") {
		t.Fatalf("next link %q", next)
	}
	r = e.Do(t, "GET", strings.TrimPrefix(next, e.URL), nil, u.Access)
	if first := r.JSON["results"].([]any)[0].(map[string]any)["title"]; first != "t24" || r.JSON["previous"] == nil {
		t.Fatalf("page 2 starts with %v", first)
	}
	// Follow cursors to the end in oldest-first order.
	seen := 0
	path := "/api/tickets?ordering=created_at&page_size=7"
	for path != "" {
		r := e.Do(t, "GET", path, nil, u.Access)
		for _, x := range r.JSON["results"].([]any) {
			if want := fmt.Sprintf("t%02d", seen); x.(map[string]any)["title"] != want {
				t.Fatalf("got %v, want %s", x.(map[string]any)["title"], want)
			}
			seen++
		}
		path = ""
		if c, ok := r.JSON["next_cursor"].(string); ok {
			path = "/api/tickets?ordering=created_at&page_size=7&cursor=" + c
		}
	}
	if seen != 45 {
		t.Fatalf("walked %d", seen)
	}
	if r := e.Do(t, "GET", "/api/tickets?page=9", nil, u.Access); r.Status != 200 || len(r.JSON["results"].([]any)) != 0 {
		t.Errorf("past the end: %d %s", r.Status, r.Body)
	}
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	id := itoa(int64(e.Do(t, "POST", "/api/tickets", map[string]any{"title": "t", "description": "d", "category": "Product"}, u.Access).JSON["id"].(float64)))
	for _, p := range []string{"/status", "/update_status/"} {
		if r := e.Do(t, "PATCH", "/api/tickets/"+id+p, map[string]any{"status": "Resolved"}, u.Access); r.Status != 403 {
			t.Errorf("owner %s: %d", p, r.Status)
		}
		if r := e.Do(t, "PATCH", "/api/tickets/"+id+p, map[string]any{"status": "Resolved"}, ""); r.Status != 401 {
			t.Errorf("anonymous %s: %d", p, r.Status)
		}
	}
	steps := []struct {
		body   any
		status int
		want   string
	}{
		{map[string]any{"status": "Under Review", "note": "Looking into it"}, 200, "Under Review"},
		{map[string]any{"status": "Under Review"}, 400, ""},
		{map[string]any{"status": "Closed"}, 400, ""},
		{map[string]any{}, 400, ""},
		{map[string]any{"status": "Resolved", "note": strings.Repeat("n", 2001)}, 400, ""},
		{map[string]any{"status": "Resolved"}, 200, "Resolved"},
		{map[string]any{"status": "New"}, 400, ""},
		{map[string]any{"status": "Under Review", "note": "Reopened"}, 200, "Under Review"},
	}
	for i, s := range steps {
		r := e.Do(t, "PATCH", "/api/tickets/"+id+"/status", s.body, admin.Access)
		if r.Status != s.status || (s.want != "" && r.JSON["status"] != s.want) {
			t.Fatalf("step %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "PATCH", "/api/tickets/999999/status", map[string]any{"status": "Resolved"}, admin.Access); r.Status != 404 {
		t.Errorf("missing ticket: %d", r.Status)
	}
	r := e.Do(t, "GET", "/api/tickets/"+id+"/history", nil, u.Access)
	if r.Status != 200 || len(r.List) != 4 {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	h1 := r.List[1].(map[string]any)
	if r.List[0].(map[string]any)["from_status"] != nil || h1["from_status"] != "New" || h1["to_status"] != "Under Review" ||
		h1["note"] != "Looking into it" || h1["changed_by"].(map[string]any)["username"] != "root" || h1["changed_at"] == nil {
		t.Fatalf("history entries: %s", r.Body)
	}
	if r := e.Do(t, "GET", "/api/tickets?status=Under%20Review", nil, admin.Access); r.JSON["count"] != 1.0 {
		t.Errorf("status filter after changes: %s", r.Body)
	}
}

func TestAttachmentRules(t *testing.T) {
	t.Parallel()
	e := env(t, webtest.Options{})
	u := e.CreateUser(t, "jane", desk.RoleUser)
	count := func() int { return int(e.Do(t, "GET", "/api/tickets", nil, u.Access).JSON["count"].(float64)) }
	tests := []struct {
		name     string
		filename string
		content  []byte
		status   int
		wantType string
		wantName string
	}{
		{"svg rejected", "logo.svg", svgFile, 415, "", ""},
		{"html rejected", "page.html", htmlFile, 415, "", ""},
		{"html named png rejected", "cat.png", htmlFile, 415, "", ""},
		{"exe rejected", "setup.exe", exeFile, 415, "", ""},
		{"empty rejected", "empty.txt", nil, 400, "", ""},
		{"png named pdf is png", "invoice.pdf", pngFile, 201, "image/png", "invoice.pdf.png"},
		{"text named html is text", "notes.html", textFile, 201, "text/plain", "notes.html.txt"},
		{"traversal name", "../../../etc/passwd", textFile, 201, "text/plain", "passwd.txt"},
		{"unicode name", "résumé ‮gpj.txt", textFile, 201, "text/plain", "résumé gpj.txt"},
	}
	created := 0
	for _, tt := range tests {
		m := ticketForm(tt.name).File("attachment", tt.filename, tt.content).Close()
		r := e.Do(t, "POST", "/api/tickets", m, u.Access)
		if r.Status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
			continue
		}
		if tt.status != 201 {
			if r.JSON["attachment"] == nil {
				t.Errorf("%s: no attachment field error: %s", tt.name, r.Body)
			}
			continue
		}
		created++
		a := r.JSON["attachments"].([]any)[0].(map[string]any)
		if a["content_type"] != tt.wantType || a["filename"] != tt.wantName {
			t.Errorf("%s: stored as %v %q", tt.name, a["content_type"], a["filename"])
		}
		if tt.wantType == "text/plain" {
			d := e.Do(t, "GET", "/api/attachments/"+itoa(int64(a["id"].(float64))), nil, u.Access)
			if !strings.HasPrefix(d.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("%s: text shown inline: %q", tt.name, d.Header.Get("Content-Disposition"))
			}
		}
	}
	if n := count(); n != created {
		t.Fatalf("%d tickets for %d accepted uploads", n, created)
	}
	if n := e.BlobCount(t); n != created {
		t.Fatalf("%d blobs for %d accepted uploads", n, created)
	}
	// A bad attachment after a good one leaves neither ticket nor bytes.
	m := ticketForm("mixed").File("attachment", "ok.png", pngFile).File("attachment", "bad.svg", svgFile).Close()
	if r := e.Do(t, "POST", "/api/tickets", m, u.Access); r.Status != 415 {
		t.Fatalf("mixed: %d", r.Status)
	}
	// A valid upload with invalid fields leaves nothing either.
	m = webtest.NewMultipart().Field("title", "").Field("category", "Nope").File("attachment", "ok.png", pngFile).Close()
	if r := e.Do(t, "POST", "/api/tickets", m, u.Access); r.Status != 400 || r.JSON["title"] == nil || r.JSON["category"] == nil {
		t.Fatalf("invalid fields: %d %s", r.Status, r.Body)
	}
	// Too many files.
	m = ticketForm("many")
	for i := range 6 {
		m.File("attachment", fmt.Sprintf("%d.png", i), pngFile)
	}
	if r := e.Do(t, "POST", "/api/tickets", m.Close(), u.Access); r.Status != 400 {
		t.Fatalf("six files: %d", r.Status)
	}
	// Malformed multipart.
	if r := e.Do(t, "POST", "/api/tickets", "--xx\r\nnot a part", u.Access, "Content-Type", "multipart/form-data; boundary=xx"); r.Status != 400 {
		t.Fatalf("malformed multipart: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/api/tickets", "x", u.Access, "Content-Type", "multipart/form-data"); r.Status != 400 {
		t.Fatalf("multipart without boundary: %d", r.Status)
	}
	if n := count(); n != created {
		t.Fatalf("failed requests created tickets: %d", n)
	}
	if n := e.BlobCount(t); n != created {
		t.Fatalf("failed requests left bytes: %d blobs", n)
	}
	assertNoIntents(t, e)
}

func assertNoIntents(t *testing.T, e *webtest.Env) {
	t.Helper()
	keys, err := e.DB.StaleBlobIntents(context.Background(), time.Now().Add(24*time.Hour), 10)
	if err != nil || len(keys) != 0 {
		t.Fatalf("upload intents left: %v %v", keys, err)
	}
}

func TestOversizeUpload(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	big := append(append([]byte{}, pngFile...), bytes.Repeat([]byte("x"), 10<<20)...)
	m := ticketForm("big").File("attachment", "big.png", big).Close()
	r := e.Do(t, "POST", "/api/tickets", m, u.Access)
	if r.Status != 413 || r.JSON["attachment"] == nil {
		t.Fatalf("oversize: %d %s", r.Status, r.Body)
	}
	exact := append(append([]byte{}, pngFile...), bytes.Repeat([]byte("x"), 10<<20-len(pngFile))...)
	m = ticketForm("exact").File("attachment", "exact.png", exact).Close()
	if r := e.Do(t, "POST", "/api/tickets", m, u.Access); r.Status != 201 {
		t.Fatalf("exactly 10 MiB: %d %s", r.Status, r.Body)
	}
	if n := e.BlobCount(t); n != 1 {
		t.Fatalf("blobs: %d", n)
	}
	assertNoIntents(t, e)
}

// failingReader yields n bytes of body, then an error, as a client that
// disconnects mid-upload.
type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("client went away")
	}
	return n, err
}

func TestInterruptedUpload(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("title", "cut")
	mw.WriteField("category", "Technical")
	mw.WriteField("description", "d")
	fw, _ := mw.CreateFormFile("attachment", "big.png")
	fw.Write(pngFile)
	fw.Write(bytes.Repeat([]byte("y"), 3<<20))
	// The body stops in the middle of the file: no closing boundary.
	req, _ := http.NewRequest("POST", e.URL+"/api/tickets", &failingReader{r: bytes.NewReader(buf.Bytes())})
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.Access)
	req.ContentLength = int64(buf.Len()) + 1000
	if res, err := e.Client.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Fatalf("cut upload accepted: %d", res.StatusCode)
		}
	}
	// The server notices on its own schedule; wait for it to clean up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys, _ := e.DB.StaleBlobIntents(context.Background(), time.Now().Add(24*time.Hour), 10)
		if e.BlobCount(t) == 0 && len(keys) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("interrupted upload left %d blobs, intents %v", e.BlobCount(t), keys)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := e.DB.Tickets(context.Background(), store.TicketFilter{})
	if err != nil || p.Total != 0 {
		t.Fatalf("interrupted upload created a ticket: %+v %v", p, err)
	}
}
