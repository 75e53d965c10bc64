package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// localRedirect reports whether a browser at base following loc stays on
// base's host.
func localRedirect(base, loc string) bool {
	if loc == "" || strings.ContainsAny(loc, "\\\r\n\t\x00") || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		return false
	}
	b, _ := url.Parse(base)
	u, err := url.Parse(loc)
	return err == nil && b.ResolveReference(u).Host == b.Host
}

// TestOpenRedirects tries every trick for leaving the site through next
// (after sign-in, and on the sign-in page when already signed in) and
// through the request path itself: every redirect stays on the site.
func TestOpenRedirects(t *testing.T) {
	t.Parallel()
	e := env(t)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	nexts := []string{
		"//evil.com", "https://evil.com", "http://evil.com", `/\evil.com`, `\\evil.com`, `\/evil.com`, "%2F%2Fevil.com",
		"/%2F%2Fevil.com", "/%2f%2fevil.com", "/%5Cevil.com", "/%5cevil.com", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
		"data:text/html,<script>alert(1)</script>", "https:evil.com", "http:/evil.com", "///evil.com", "////evil.com",
		"/\t/evil.com", "/\n/evil.com", "/%09/evil.com", "/%0d%0aSet-Cookie:%20x=1", " //evil.com", "\x00//evil.com",
		"//evil.com@localhost", "http://localhost@evil.com", "/.//evil.com", "/./\\evil.com", "/tickets/..//..//evil.com",
		"//%65vil.com", "/%2e%2e/%2e%2e//evil.com", "evil.com", "@evil.com", "/@evil.com", "?next=//evil.com", "#//evil.com",
		"/tickets?x=//evil.com", strings.Repeat("/", 3000) + "evil.com",
	}
	for _, next := range nexts {
		b := newBrowserless(t, e)
		tok := b.get("/login?next=" + url.QueryEscape(next)).token(t)
		r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {jane.Password}, "next": {next}})
		if r.Status != http.StatusSeeOther || !localRedirect(e.URL, r.location()) {
			t.Errorf("sign-in with next=%q: %d → %q", next, r.Status, r.location())
		}
		if r := b.get("/login?next=" + url.QueryEscape(next)); !localRedirect(e.URL, r.location()) {
			t.Errorf("signed in, /login?next=%q → %q", next, r.location())
		}
	}
	// Paths: the mux's own cleaning redirects and the sign-in redirect.
	for _, p := range []string{"//evil.com", "//evil.com/tickets", "///evil.com/", "/.//evil.com", "/tickets/..//evil.com",
		"/%2F%2Fevil.com", "/tickets/%2F%2Fevil.com", "/tickets?next=//evil.com", "/static/../../evil.com", "/tickets//evil.com"} {
		req, _ := http.NewRequest("GET", e.URL+"/", nil)
		req.URL.Opaque = p // sent exactly as written
		res, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); loc != "" && !localRedirect(e.URL, loc) && !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("GET %s: %d → %q", p, res.StatusCode, loc)
		} else if strings.HasPrefix(loc, "/login?next=") {
			q, _ := url.ParseQuery(strings.TrimPrefix(loc, "/login?"))
			// The sign-in page would follow this next after sign-in.
			if n := q.Get("next"); !localRedirect(e.URL, n) {
				t.Errorf("GET %s: asked to sign in with next=%q", p, n)
			}
		}
	}
}

// TestSecurityHeadersEverywhere covers the responses the permission
// matrix does not reach: unknown paths, wrong methods, static files,
// preflights, HEAD, malformed queries, oversize bodies, throttling,
// attachments of every disposition and the mux's own redirects.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	e := env(t, webtest.Options{App: app.Config{MaxUploadBytes: 64 << 10}, Web: web.Config{CORSOrigins: []string{"https://front.example"}}})
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	ctx := context.Background()
	var files []app.Staged
	for name, content := range map[string][]byte{"a.png": pngFile, "b.pdf": pdfFile, "c.txt": textFile} {
		f, err := e.Svc.StageAttachment(ctx, jane.User, name, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	tk, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: "t", Description: "d", Category: "Product"}, files)
	if err != nil {
		t.Fatal(err)
	}
	login := newBrowserless(t, e).get("/login").Body
	asset := regexp.MustCompile(`(/static/app\.[0-9a-f]+\.js)`).FindString(login)
	for range 6 {
		e.Do(t, "POST", "/api/auth/login", map[string]string{"username": "jane", "password": "wrong"}, "")
	}
	big := append(append([]byte{}, pngFile...), bytes.Repeat([]byte("x"), 64<<10)...)
	type probe struct {
		method, path string
		body         any
		hdr          []string
		status       int
	}
	probes := []probe{
		{"GET", "/no/such/page", nil, nil, 404},
		{"GET", "/api/no/such", nil, nil, 404},
		{"GET", "/favicon.ico", nil, nil, 404},
		{"DELETE", "/api/tickets", nil, nil, 405},
		{"PUT", "/tickets", nil, nil, 404}, // pages answer a wrong method with their 404 page
		{"PATCH", "/login", nil, nil, 404},
		{"GET", "/static/nope.css", nil, nil, 404},
		{"GET", "/static/app.css", nil, nil, 404},
		{"GET", asset, nil, nil, 200},
		{"HEAD", asset, nil, nil, 200},
		{"HEAD", "/login", nil, nil, 200},
		{"HEAD", "/api/tickets", nil, nil, 401},
		{"OPTIONS", "/api/tickets", nil, []string{"Origin", "https://front.example", "Access-Control-Request-Method", "POST"}, 204},
		{"OPTIONS", "/api/tickets", nil, []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, 405},
		{"GET", "/api/tickets?ordering=a;b", nil, nil, 400},
		{"GET", "/api/tickets?page=x", nil, []string{"Authorization", "Bearer " + jane.Access}, 400},
		{"GET", "/tickets/abc", nil, nil, 303},
		{"GET", "//tickets", nil, nil, 307},
		{"GET", "/api/attachments/abc", nil, []string{"Authorization", "Bearer " + jane.Access}, 404},
		{"GET", "/api/attachments/" + itoa(tk.Attachments[0].ID), nil, []string{"Authorization", "Bearer " + jane.Access}, 200},
		{"GET", "/api/attachments/" + itoa(tk.Attachments[1].ID), nil, []string{"Authorization", "Bearer " + jane.Access}, 200},
		{"GET", "/api/attachments/" + itoa(tk.Attachments[2].ID), nil, []string{"Authorization", "Bearer " + jane.Access}, 200},
		{"GET", "/api/attachments/" + itoa(tk.Attachments[0].ID), nil, []string{"Authorization", "Bearer " + jane.Access, "If-None-Match", `"` + tk.Attachments[0].SHA256 + `"`}, 304},
		{"POST", "/api/tickets", ticketForm("Big").File("attachment", "big.png", big).Close(), []string{"Authorization", "Bearer " + jane.Access}, 413},
		{"POST", "/api/tickets", "{", []string{"Authorization", "Bearer " + jane.Access, "Content-Type", "application/json"}, 400},
		{"POST", "/api/tickets", "x", []string{"Authorization", "Bearer " + jane.Access, "Content-Type", "text/plain"}, 415},
		{"POST", "/api/auth/login", map[string]string{"username": "jane", "password": "wrong"}, nil, 429},
		{"GET", "/api/tickets", nil, []string{"Authorization", "Bearer nope"}, 401},
	}
	for _, p := range probes {
		var rd io.Reader
		ct := ""
		switch b := p.body.(type) {
		case string:
			rd = strings.NewReader(b)
		case *webtest.Multipart:
			rd, ct = bytes.NewReader(b.Bytes()), "multipart/form-data; boundary="+b.Boundary()
		case map[string]string:
			rd, ct = strings.NewReader(`{"username":"jane","password":"wrong"}`), "application/json"
		}
		req, _ := http.NewRequest(p.method, e.URL+"/", rd)
		req.URL.Opaque = p.path
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for i := 0; i+1 < len(p.hdr); i += 2 {
			req.Header.Set(p.hdr[i], p.hdr[i+1])
		}
		res, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		what := p.method + " " + p.path
		if res.StatusCode != p.status {
			t.Errorf("%s: %d, want %d", what, res.StatusCode, p.status)
		}
		checkSecurityHeaders(t, what, res.Header)
		for _, h := range []string{"Server", "X-Powered-By"} {
			if v := res.Header.Get(h); v != "" {
				t.Errorf("%s: %s: %s", what, h, v)
			}
		}
	}
}
