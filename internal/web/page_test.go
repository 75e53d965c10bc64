package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// pageFixture is a server with an admin, two users and one of jane's
// tickets with an image and a PDF.
type pageFixture struct {
	e               *webtest.Env
	root, jane, bob *webtest.User
	ticket          *desk.Ticket
	imageID, pdfID  int64
}

func newPageFixture(t *testing.T, opt webtest.Options) *pageFixture {
	t.Helper()
	e := webtest.New(t, storetest.SQLite(t), opt)
	f := &pageFixture{e: e, root: e.CreateUser(t, "root", desk.RoleAdmin), jane: e.CreateUser(t, "jane", desk.RoleUser), bob: e.CreateUser(t, "bob", desk.RoleUser)}
	ctx := context.Background()
	img, err := e.Svc.StageAttachment(ctx, f.jane.User, "photo.png", strings.NewReader(string(pngImage())))
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := e.Svc.StageAttachment(ctx, f.jane.User, "report.pdf", strings.NewReader(string(pdfDocument("Report"))))
	if err != nil {
		t.Fatal(err)
	}
	f.ticket, err = e.Svc.CreateTicket(ctx, f.jane.User, desk.NewTicket{Title: "Printer jam", Description: "Floor 3", Category: "Technical"}, []app.Staged{img, pdf})
	if err != nil {
		t.Fatal(err)
	}
	f.imageID, f.pdfID = f.ticket.Attachments[0].ID, f.ticket.Attachments[1].ID
	return f
}

// pagesOf lists the GET pages each kind of visitor can reach.
func (f *pageFixture) pagesOf(who string) []string {
	tk := fmt.Sprintf("/tickets/%d", f.ticket.ID)
	switch who {
	case "anonymous":
		return []string{"/login", "/register", "/no/such/page"}
	case "user":
		return []string{"/tickets", "/tickets/new", tk, "/tickets?status=Bogus", "/admin/users", "/tickets/999999", "/no/such/page",
			"/chat", "/admin/chats", "/settings/notifications", "/admin/outbox"}
	}
	return []string{"/tickets", "/tickets/new", tk, "/admin/users", "/no/such/page", "/admin/chats", "/chat", "/settings/notifications", "/admin/outbox"}
}

func (f *pageFixture) client(t *testing.T, who string) *browserless {
	b := newBrowserless(t, f.e)
	switch who {
	case "user":
		b.signIn("jane", f.jane.Password)
	case "admin":
		b.signIn("root@example.com", f.root.Password)
	}
	return b
}

var (
	scriptTagRE = regexp.MustCompile(`<script\b[^>]*>`)
	nonceAttrRE = regexp.MustCompile(`nonce="([^"]+)"`)
)

func TestPageSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	nonces := map[string]bool{}
	for _, who := range []string{"anonymous", "user", "admin"} {
		b := f.client(t, who)
		for _, p := range f.pagesOf(who) {
			r := b.get(p)
			csp := r.Header.Get("Content-Security-Policy")
			m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]+)'(;| )`).FindStringSubmatch(csp)
			if m == nil {
				t.Errorf("%s %s (%d): no nonce script-src in %q", who, p, r.Status, csp)
				continue
			}
			nonce := m[1]
			if nonces[nonce] {
				t.Errorf("%s %s: nonce reused", who, p)
			}
			nonces[nonce] = true
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "style-src 'self';"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s %s: CSP %q lacks %q", who, p, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "tawk") {
				t.Errorf("%s %s: CSP %q", who, p, csp)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
				"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s %s: %s = %q, want %q", who, p, h, got, want)
				}
			}
			tags := scriptTagRE.FindAllString(r.Body, -1)
			if len(tags) == 0 {
				t.Errorf("%s %s: no script", who, p)
			}
			for _, tag := range tags {
				if n := nonceAttrRE.FindStringSubmatch(tag); n == nil || n[1] != nonce || !strings.Contains(tag, `src="/static/`) {
					t.Errorf("%s %s: script tag %s (nonce %s)", who, p, tag, nonce)
				}
			}
			if strings.Contains(r.Body, "style=") || strings.Contains(r.Body, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(r.Body) {
				t.Errorf("%s %s: inline style or event handler", who, p)
			}
		}
	}

	// Static assets: hashed names only, cached for a year.
	b := newBrowserless(t, f.e)
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{10}\.css)"`).FindStringSubmatch(b.get("/login").Body)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	r := b.get(css[1])
	if r.Status != 200 || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("asset: %d %v", r.Status, r.Header)
	}
	if r := b.get("/static/app.css"); r.Status != 404 {
		t.Fatalf("unhashed asset: %d", r.Status)
	}
}

func TestPageTawkSnippet(t *testing.T) {
	t.Parallel()
	// The vector from INTEGRATIONS.md.
	if got := web.TawkHash("0123456789abcdef0123456789abcdef01234567", "jane.doe@example.com"); got != "dd863d2f97ba67e5e7acd65cfc1d306f380f53e6dd460221de15ac6ec8357c55" {
		t.Fatalf("TawkHash = %s", got)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{"58ca8453b8a7e060cd3b1ecb", true}, {"58CA8453B8A7E060CD3B1ECB", false}, {"58ca8453b8a7e060cd3b1ec", false}, {"58ca8453b8a7e060cd3b1ecbb", false}, {"58ca8453b8a7e060cd3b1ecg", false}, {"", false}} {
		if web.ValidTawkPropertyID(tc.id) != tc.want {
			t.Errorf("ValidTawkPropertyID(%q) != %v", tc.id, tc.want)
		}
	}
	const key = "secret-api-key-0123456789"
	for _, withKey := range []bool{true, false} {
		cfg := web.Config{TawkPropertyID: "58ca8453b8a7e060cd3b1ecb"}
		if withKey {
			cfg.TawkAPIKey = key
		}
		f := newPageFixture(t, webtest.Options{Web: cfg})
		b := f.client(t, "user")
		r := b.get("/tickets")
		tag := regexp.MustCompile(`<script[^>]*id="tawk-bootstrap"[^>]*>`).FindString(r.Body)
		if !strings.Contains(tag, `data-src="https://embed.tawk.to/58ca8453b8a7e060cd3b1ecb/default"`) ||
			!strings.Contains(tag, `data-name="jane"`) || !strings.Contains(tag, `data-email="jane@example.com"`) {
			t.Fatalf("bootstrap tag %q", tag)
		}
		if strings.Contains(r.Body, "data-chat-launcher") {
			t.Error("the built-in chat launcher is shown beside the Tawk.to widget")
		}
		if hasHash := strings.Contains(tag, `data-hash="`+web.TawkHash(key, "jane@example.com")+`"`); hasHash != withKey || strings.Contains(r.Body, key) {
			t.Fatalf("with key %v: tag %q", withKey, tag)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'nonce-", "https://embed.tawk.to https://*.tawk.to", "connect-src 'self' https://*.tawk.to wss://*.tawk.to", "frame-src 'self' https://*.tawk.to"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		// Signed out: the widget without a visitor; after sign-out, the
		// page asks it to end the chat.
		anon := newBrowserless(t, f.e).get("/login")
		if tag := regexp.MustCompile(`<script[^>]*id="tawk-bootstrap"[^>]*>`).FindString(anon.Body); tag == "" || strings.Contains(tag, "data-email") || strings.Contains(tag, "data-end-session") {
			t.Fatalf("signed-out tag %q", tag)
		}
		tok := b.get("/tickets").token(t)
		out := b.post("/logout", url.Values{"csrf_token": {tok}})
		next := b.get(out.location())
		if tag := regexp.MustCompile(`<script[^>]*id="tawk-bootstrap"[^>]*>`).FindString(next.Body); !strings.Contains(tag, `data-end-session="1"`) || strings.Contains(tag, "data-email") {
			t.Fatalf("after sign-out: %q", tag)
		}
	}
}

func TestPageEscaping(t *testing.T) {
	t.Parallel()
	corpus := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(2)>`,
		`'><svg onload=alert(3)>`,
		`</textarea><script>alert(4)</script>`,
		`{{.Layout.CSRF}}`,
	}
	f := newPageFixture(t, webtest.Options{})
	ctx := context.Background()
	// An account whose name bypassed validation (an old import, say).
	evil := &desk.User{Email: "evil@example.com", Username: `<b onmouseover=alert(5)>mallory</b>`, Role: desk.RoleUser, Active: true, DateJoined: f.e.Clock.Now()}
	if err := f.e.DB.CreateUser(ctx, evil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range corpus {
		att, err := f.e.Svc.StageAttachment(ctx, evil, s+`'&".txt`, strings.NewReader("plain text"))
		if err != nil {
			t.Fatal(err)
		}
		tk, err := f.e.Svc.CreateTicket(ctx, evil, desk.NewTicket{Title: s, Description: s + "\n" + s, Category: "Product"}, []app.Staged{att})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.e.Svc.ChangeStatus(ctx, f.root.User, tk.ID, "Under Review", s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	b := f.client(t, "admin")
	pages := []string{"/tickets", "/admin/users", "/tickets?search=" + url.QueryEscape(corpus[0]), "/tickets?category=" + url.QueryEscape(corpus[1])}
	for _, id := range ids {
		pages = append(pages, fmt.Sprintf("/tickets/%d", id))
	}
	raw := append(append([]string{}, corpus[:4]...), evil.Username, "onerror=alert(2)>", "<svg onload")
	for _, p := range pages {
		r := b.get(p)
		for _, s := range raw {
			if strings.Contains(r.Body, s) {
				t.Errorf("%s contains unescaped %q", p, s)
			}
		}
	}
	detail := b.get(fmt.Sprintf("/tickets/%d", ids[0])).Body
	for _, want := range []string{html.EscapeString(corpus[0]), "&lt;b onmouseover=alert(5)&gt;mallory&lt;/b&gt;"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail page lacks the escaped %q", want)
		}
	}
	if !strings.Contains(b.get(fmt.Sprintf("/tickets/%d", ids[4])).Body, "{{.Layout.CSRF}}") {
		t.Error("template syntax in user text was not shown literally")
	}
	// A user-supplied search is echoed escaped into the attribute.
	if r := b.get("/tickets?search=" + url.QueryEscape(`"><x`)); !strings.Contains(r.Body, `value="&#34;&gt;&lt;x"`) {
		t.Errorf("search echo: %s", regexp.MustCompile(`<input id="search"[^>]*>`).FindString(r.Body))
	}
}

func TestPageCSRF(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	ctx := context.Background()
	// Every POST form on every page carries the token as its first field.
	for _, who := range []string{"anonymous", "user", "admin"} {
		b := f.client(t, who)
		seen := 0
		for _, p := range f.pagesOf(who) {
			for action, ok := range postForms(b.get(p).Body) {
				seen++
				if !ok {
					t.Errorf("%s %s: form %q lacks a leading CSRF token", who, p, action)
				}
			}
		}
		if seen == 0 {
			t.Errorf("%s: no forms found", who)
		}
	}

	admin := f.client(t, "admin")
	good := admin.get("/tickets/new").token(t)
	tk := fmt.Sprintf("/tickets/%d", f.ticket.ID)
	for _, tok := range []string{"", "forged", strings.ToUpper(good)} {
		vals := func(kv ...string) url.Values {
			v := url.Values{}
			if tok != "" {
				v.Set("csrf_token", tok)
			}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		for _, tc := range []struct {
			path string
			form url.Values
		}{
			{tk + "/status", vals("status", "Resolved")},
			{fmt.Sprintf("/admin/users/%d", f.bob.ID), vals("active", "false")},
			{"/logout", vals()},
		} {
			if r := admin.post(tc.path, tc.form); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "expired") {
				t.Errorf("POST %s with token %q: %d", tc.path, tok, r.Status)
			}
		}
		fields := []string{"title", "Forged", "category", "Product", "description", "x", "@attachment", "a.txt:hello"}
		if tok != "" {
			fields = append([]string{"csrf_token", tok}, fields...)
		}
		if r := admin.postMultipart("/tickets/new", fields...); r.Status != http.StatusForbidden {
			t.Errorf("new ticket with token %q: %d", tok, r.Status)
		}
	}
	// The token must come first: after a file it is too late.
	if r := admin.postMultipart("/tickets/new", "title", "Late", "category", "Product", "description", "x", "csrf_token", good); r.Status != http.StatusForbidden {
		t.Errorf("token after the fields: %d", r.Status)
	}
	// A genuine token from a cross-site request is refused as well.
	if r := admin.post(tk+"/status", url.Values{"csrf_token": {good}, "status": {"Resolved"}}, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
		t.Errorf("cross-site POST with a valid token: %d", r.Status)
	}
	// Nothing happened.
	if got, _ := f.e.Svc.Ticket(ctx, f.root.User, f.ticket.ID); got.Status != desk.StatusNew {
		t.Errorf("status is %s", got.Status)
	}
	if u, _ := f.e.DB.UserByID(ctx, f.bob.ID); !u.Active {
		t.Error("bob was deactivated")
	}
	if list, _ := f.e.Svc.Tickets(ctx, f.root.User, app.TicketQuery{}); list.Total != 1 || f.e.BlobCount(t) != 2 {
		t.Errorf("%d tickets, %d blobs after forged creates", list.Total, f.e.BlobCount(t))
	}
	if r := admin.get("/tickets"); r.Status != 200 {
		t.Errorf("a forged sign-out ended the session: %d", r.Status)
	}

	// Pre-session forms: the token is bound to the browser's own cookie.
	alice, mallory := newBrowserless(t, f.e), newBrowserless(t, f.e)
	stolen := mallory.get("/login").token(t)
	alice.get("/login")
	for _, tok := range []string{"", "forged", stolen} {
		r := alice.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {f.jane.Password}})
		if r.Status != http.StatusForbidden || alice.cookie("tf_session") != nil {
			t.Errorf("sign-in with token %q: %d", tok, r.Status)
		}
		r = alice.post("/register", url.Values{"csrf_token": {tok}, "email": {"x@example.com"}, "username": {"x"}, "password": {"Correct-Horse-42"}, "password2": {"Correct-Horse-42"}})
		if r.Status != http.StatusForbidden || alice.cookie("tf_session") != nil {
			t.Errorf("registration with token %q: %d", tok, r.Status)
		}
	}
	if _, err := f.e.DB.UserByLogin(ctx, "x"); !desk.IsKind(err, desk.KindNotFound) {
		t.Error("a forged registration created an account")
	}
	// The page shows a fresh token with which the form then works.
	tok := alice.get("/login").token(t)
	if r := alice.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {f.jane.Password}}); r.Status != http.StatusSeeOther {
		t.Errorf("genuine sign-in: %d", r.Status)
	}
}

func TestPageOpenRedirect(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	for _, tc := range []struct{ next, want string }{
		{"/tickets/1?page=2", "/tickets/1?page=2"},
		{"/admin/users", "/admin/users"},
		{"//evil.example", "/tickets"},
		{"///evil.example", "/tickets"},
		{`/\evil.example`, "/tickets"},
		{`\/evil.example`, "/tickets"},
		{"https://evil.example/", "/tickets"},
		{"http:/evil.example", "/tickets"},
		{"javascript:alert(1)", "/tickets"},
		{"evil.example", "/tickets"},
		{"/%2F%2Fevil.example", "/tickets"},
		{"/%2fevil.example", "/tickets"},
		{"/%5Cevil.example", "/tickets"},
		{"/\t/evil.example", "/tickets"},
		{"/ /evil.example", "/tickets"},
		{"/\x00", "/tickets"},
		{"", "/tickets"},
	} {
		b := newBrowserless(t, f.e)
		tok := b.get("/login?next=" + url.QueryEscape(tc.next)).token(t)
		r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {f.jane.Password}, "next": {tc.next}})
		if r.Status != http.StatusSeeOther || r.location() != tc.want {
			t.Errorf("next=%q: %d → %q, want %q", tc.next, r.Status, r.location(), tc.want)
		}
		// Signed in, the sign-in page forwards to next the same way.
		if r := b.get("/login?next=" + url.QueryEscape(tc.next)); r.location() != tc.want {
			t.Errorf("signed in, /login?next=%q → %q", tc.next, r.location())
		}
	}
	// An unsafe next is not even echoed into the form.
	if body := newBrowserless(t, f.e).get("/login?next=" + url.QueryEscape("//evil.example")).Body; strings.Contains(body, "evil") {
		t.Error("the sign-in form echoes an unsafe next")
	}
}

func TestPageFlowsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{App: app.Config{MaxUploadBytes: 64 << 10}})
	ctx := context.Background()
	anon := newBrowserless(t, f.e)
	for path, want := range map[string]string{
		"/":                                     "/login",
		"/tickets":                              "/login?next=%2Ftickets",
		"/tickets?status=New":                   "/login?next=%2Ftickets%3Fstatus%3DNew",
		"/admin/users":                          "/login?next=%2Fadmin%2Fusers",
		fmt.Sprintf("/tickets/%d", f.ticket.ID): fmt.Sprintf("/login?next=%%2Ftickets%%2F%d", f.ticket.ID),
	} {
		if r := anon.get(path); r.Status != http.StatusSeeOther || r.location() != want {
			t.Errorf("anonymous GET %s: %d → %q, want %q", path, r.Status, r.location(), want)
		}
	}
	if r := anon.postMultipart("/tickets/new", "csrf_token", "x"); r.Status != http.StatusSeeOther || r.location() != "/login" {
		t.Errorf("anonymous POST: %d → %q", r.Status, r.location())
	}

	// Wrong password: the form again, 401, login kept, no session.
	b := newBrowserless(t, f.e)
	tok := b.get("/login").token(t)
	r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {"wrong"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "No active account") || !strings.Contains(r.Body, `value="jane"`) || b.cookie("tf_session") != nil {
		t.Fatalf("bad password: %d", r.Status)
	}
	r = b.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane"}, "password": {f.jane.Password}})
	if r.Status != http.StatusSeeOther || r.location() != "/tickets" {
		t.Fatalf("sign in: %d %q", r.Status, r.location())
	}
	set := strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if !regexp.MustCompile(`tf_session=[A-Za-z0-9_-]{43}; Path=/; Expires=[^;]+; Max-Age=604800; HttpOnly; SameSite=Lax`).MatchString(set) || strings.Contains(set, "Secure") {
		t.Errorf("session cookie: %s", set)
	}
	if r := b.get("/"); r.location() != "/tickets" {
		t.Errorf("signed in, / → %q", r.location())
	}
	csrf := b.get("/tickets/new").token(t)

	// New ticket: errors come back next to the fields with the input kept.
	r = b.postMultipart("/tickets/new", "csrf_token", csrf, "title", "", "category", "Nope", "priority", "High", "description", "Keep <this> text")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="title-error"`) || !strings.Contains(r.Body, `id="category-error"`) ||
		!strings.Contains(r.Body, "Keep &lt;this&gt; text</textarea>") || !strings.Contains(r.Body, `<option value="High" selected>`) {
		t.Fatalf("invalid ticket: %d\n%s", r.Status, r.Body)
	}
	// A file over the limit: 413, message under the file input, nothing stored.
	blobs := f.e.BlobCount(t)
	r = b.postMultipart("/tickets/new", "csrf_token", csrf, "title", "Big", "category", "Product", "description", "d", "@attachment", "big.txt:"+strings.Repeat("x", 64<<10+1))
	if r.Status != http.StatusRequestEntityTooLarge || !regexp.MustCompile(`id="attachment-error">Each file must be at most`).MatchString(r.Body) ||
		!strings.Contains(r.Body, `value="Big"`) || f.e.BlobCount(t) != blobs {
		t.Fatalf("too large: %d %d blobs\n%s", r.Status, f.e.BlobCount(t), r.Body)
	}
	// Success: post/redirect/get to the new ticket.
	r = b.postMultipart("/tickets/new", "csrf_token", csrf, "title", "Monitor flickers", "category", "Technical", "priority", "Low", "description", "Since Monday", "@attachment", "notes.txt:it flickers")
	if r.Status != http.StatusSeeOther || !regexp.MustCompile(`^/tickets/\d+\?msg=created$`).MatchString(r.location()) {
		t.Fatalf("create: %d %q\n%s", r.Status, r.location(), r.Body)
	}
	if p := b.get(r.location()); !strings.Contains(p.Body, "Your ticket was created.") || !strings.Contains(p.Body, "notes.txt") {
		t.Fatal("the new ticket page lacks the confirmation or the file")
	}

	// Admin: status change with a note, and its errors.
	a := newBrowserless(t, f.e)
	acsrf := a.signIn("root", f.root.Password)
	tk := fmt.Sprintf("/tickets/%d", f.ticket.ID)
	if r := a.post(tk+"/status", url.Values{"csrf_token": {acsrf}, "status": {"New"}, "note": {"kept note"}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Body, "already New") || !strings.Contains(r.Body, "kept note</textarea>") {
		t.Fatalf("same status: %d", r.Status)
	}
	if r := a.post(tk+"/status", url.Values{"csrf_token": {acsrf}, "status": {"Resolved"}, "note": {"Replaced the fuser."}}); r.Status != http.StatusSeeOther || r.location() != tk+"?msg=status" {
		t.Fatalf("status change: %d %q", r.Status, r.location())
	}
	if h, _ := f.e.Svc.StatusHistory(ctx, f.root.User, f.ticket.ID); len(h) != 2 || h[1].Note != "Replaced the fuser." {
		t.Fatalf("history %+v", h)
	}
	// A user may not change status (403 page), nor see another's ticket (404).
	if r := b.post(tk+"/status", url.Values{"csrf_token": {csrf}, "status": {"New"}}); r.Status != http.StatusForbidden {
		t.Errorf("user status change: %d", r.Status)
	}
	bob := newBrowserless(t, f.e)
	bob.signIn("bob", f.bob.Password)
	if r := bob.get(tk); r.Status != http.StatusNotFound || strings.Contains(r.Body, "Printer jam") {
		t.Errorf("another user's ticket: %d", r.Status)
	}
	if r := bob.get(fmt.Sprintf("/api/attachments/%d", f.pdfID)); r.Status != http.StatusNotFound {
		t.Errorf("another user's attachment: %d", r.Status)
	}

	// Admin users page: deactivating signs bob out at once.
	if r := a.post(fmt.Sprintf("/admin/users/%d", f.bob.ID), url.Values{"csrf_token": {acsrf}, "active": {"false"}}); r.Status != http.StatusSeeOther || r.location() != "/admin/users?msg=user" {
		t.Fatalf("deactivate: %d %q", r.Status, r.location())
	}
	if r := bob.get("/tickets"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") || bob.cookie("tf_session") != nil {
		t.Errorf("deactivated user: %d %q", r.Status, r.location())
	}

	// Sign-out: 303 to the sign-in page; the old cookie no longer works.
	old := b.cookie("tf_session").Value
	r = b.post("/logout", url.Values{"csrf_token": {csrf}})
	if r.Status != http.StatusSeeOther || r.location() != "/login?msg=signed_out&signed_out=1" || b.cookie("tf_session") != nil {
		t.Fatalf("sign-out: %d %q", r.Status, r.location())
	}
	if _, _, err := f.e.Svc.SessionUser(ctx, old); err == nil {
		t.Error("the session survived sign-out")
	}

}

func TestPagePDFFramingAndCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{Web: web.Config{BaseURL: "https://help.example.com"}})
	b := newBrowserless(t, f.e)
	r := b.get("/login")
	if set := r.Header.Get("Set-Cookie"); !strings.HasPrefix(set, "__Host-tf_pre=") || !strings.Contains(set, "Secure") || !strings.Contains(set, "Path=/") {
		t.Fatalf("pre-session cookie over HTTPS: %s", set)
	}
	// (The cookie jar will not send a Secure cookie over http://, so sign
	// in with the cookie by hand.)
	pre := strings.TrimPrefix(strings.Split(r.Header.Get("Set-Cookie"), ";")[0], "__Host-tf_pre=")
	req, _ := http.NewRequest("POST", f.e.URL+"/login", strings.NewReader(url.Values{"csrf_token": {r.token(t)}, "login": {"jane"}, "password": {f.jane.Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "__Host-tf_pre", Value: pre})
	res := b.do(req)
	if set := strings.Join(res.Header.Values("Set-Cookie"), "\n"); res.Status != http.StatusSeeOther || !strings.Contains(set, "tf_session=") || !strings.Contains(set, "HttpOnly; Secure; SameSite=Lax") {
		t.Fatalf("session cookie over HTTPS: %d %s", res.Status, set)
	}

	// Inline PDFs may be framed by this origin only, and stay sandboxed;
	// images and downloads keep the strict policy.
	u := f.e.Do(t, "GET", fmt.Sprintf("/api/attachments/%d", f.pdfID), nil, f.jane.Access)
	if csp := u.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'self'") || u.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("inline PDF headers: %v", u.Header)
	}
	for _, p := range []string{fmt.Sprintf("/api/attachments/%d", f.imageID), fmt.Sprintf("/api/attachments/%d/download", f.pdfID)} {
		u := f.e.Do(t, "GET", p, nil, f.jane.Access)
		if csp := u.Header.Get("Content-Security-Policy"); strings.Contains(csp, "frame-ancestors") || u.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s may be framed: %v", p, u.Header)
		}
	}
}
