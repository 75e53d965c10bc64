package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// actor is one column of the permission matrix.
type actor int

const (
	anon  actor = iota // no credentials at all
	owner              // alice: owns every object the matrix asks about
	other              // bob: another ordinary user
	admin              // root
	gone               // dave: credentials obtained before he was deactivated
	nActors
)

var actorNames = [nActors]string{"anonymous", "owner", "other user", "admin", "deactivated"}

// secret is written into every object alice owns (ticket, reply, chat
// message); nobody but alice and admins may ever receive it.
const secret = "alice-secret-7f3a"

// permFixture is a server with the five actors, each holding an API token
// pair and a browser session, and a second admin ("agent") whose open event
// stream keeps an agent online so that chats stay chats.
type permFixture struct {
	t        *testing.T
	e        *webtest.Env
	users    [nActors]*webtest.User
	sessions [nActors]*app.WebSession
	probe    *webtest.User // signs in on the public rows
	ticket   int64         // alice's ticket, with an attachment and a reply
	att      int64
	asset    string // a hashed static file
	unsub    string // the unsubscribe link of a mail to alice (ticket_reply)
	n        int
}

func newPermFixture(t *testing.T, db *store.DB) *permFixture {
	t.Helper()
	logs := &lockedBuffer{} // where mails go: the unsubscribe link is read from it
	e := webtest.New(t, db, webtest.Options{LogSink: logs, Web: web.Config{TawkWebhookSecret: tawkSecret,
		// The registration rows come from many "clients" behind a proxy.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	f := &permFixture{t: t, e: e}
	ctx := context.Background()
	for a, name := range map[actor]string{owner: "alice", other: "bob", admin: "root", gone: "dave"} {
		role := desk.RoleUser
		if a == admin {
			role = desk.RoleAdmin
		}
		f.users[a] = e.CreateUser(t, name, role)
		_, ws, err := e.Svc.StartSession(ctx, appCreds(f.users[a]), "matrix")
		if err != nil {
			t.Fatal(err)
		}
		f.sessions[a] = ws
	}
	f.probe = e.CreateUser(t, "probe", desk.RoleUser)
	agent := e.CreateUser(t, "agent", desk.RoleAdmin)
	if s := e.Stream(t, "/api/events", agent.Access); s.Status != 200 {
		t.Fatalf("agent stream: %d", s.Status)
	}

	alice := f.users[owner].User
	img, err := e.Svc.StageAttachment(ctx, alice, secret+".png", bytes.NewReader(pngImage()))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := e.Svc.CreateTicket(ctx, alice, desk.NewTicket{Title: "Ticket " + secret, Description: secret, Category: "Technical"}, []app.Staged{img})
	if err != nil {
		t.Fatal(err)
	}
	f.ticket, f.att = tk.ID, tk.Attachments[0].ID
	if _, err := e.Svc.AddComment(ctx, alice, tk.ID, app.NewComment{Body: "Reply " + secret}, nil); err != nil {
		t.Fatal(err)
	}
	// Support answers: alice is mailed, with a link to unsubscribe.
	if _, err := e.Svc.AddComment(ctx, f.users[admin].User, tk.ID, app.NewComment{Body: "We are on it"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.DeliverMail(ctx); err != nil {
		t.Fatal(err)
	}
	for _, link := range unsubRE.FindAllString(logs.String(), -1) {
		if strings.HasPrefix(link, "/unsubscribe?t="+strconv.FormatInt(alice.ID, 36)+"."+string(desk.NoticeReply)+".") {
			f.unsub = link
		}
	}
	if f.unsub == "" {
		t.Fatalf("no unsubscribe link for alice in the mail log:\n%s", logs)
	}

	// Dave is deactivated after signing in everywhere.
	if _, err := e.Svc.UpdateUser(ctx, f.users[admin].User, f.users[gone].ID, app.UserChange{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`href="(/static/app\.[0-9a-f]+\.css)"`).FindStringSubmatch(f.page(anon, "GET", "/login", nil).Body)
	if m == nil {
		t.Fatal("no hashed stylesheet on /login")
	}
	f.asset = m[1]
	return f
}

// uniq returns a name never used before in this fixture.
func (f *permFixture) uniq(prefix string) string {
	f.n++
	return fmt.Sprintf("%s%d", prefix, f.n)
}

// newTicket is a fresh ticket of alice's, status New.
func (f *permFixture) newTicket() string {
	f.t.Helper()
	tk, err := f.e.Svc.CreateTicket(context.Background(), f.users[owner].User,
		desk.NewTicket{Title: f.uniq("Fresh ") + " " + secret, Description: secret, Category: "Product"}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return itoa(tk.ID)
}

// openChat is alice's open chat (started if she has none) with a message.
func (f *permFixture) openChat() string {
	f.t.Helper()
	p, err := f.e.Svc.SendChatMessage(context.Background(), f.users[owner].User, 0, "Chat "+secret)
	if err != nil || p.Offline {
		f.t.Fatalf("chat: %v (offline %v)", err, p != nil && p.Offline)
	}
	return itoa(p.Chat.ID)
}

// newUser is a throwaway account for the user-management rows.
func (f *permFixture) newUser() string {
	f.t.Helper()
	name := f.uniq("temp")
	u := &desk.User{Email: name + "@example.com", Username: name, PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: f.e.Clock.Now()}
	if err := f.e.DB.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return itoa(u.ID)
}

// failedMail is a new failed mail to bob, for the retry rows.
func (f *permFixture) failedMail() string {
	f.t.Helper()
	return itoa(failedMail(f.t, f.e, f.users[other].ID))
}

// resubscribe turns alice's reply notices back on, so that each use of
// her unsubscribe link has something to turn off.
func (f *permFixture) resubscribe() {
	f.t.Helper()
	if _, err := f.e.Svc.SetNotificationPrefs(context.Background(), f.users[owner].User, map[string]bool{string(desk.NoticeReply): true}); err != nil {
		f.t.Fatal(err)
	}
}

// refresh is a fresh refresh token of u's.
func (f *permFixture) refresh(u *webtest.User) string {
	f.t.Helper()
	_, tok, err := f.e.Svc.Login(context.Background(), appCreds(u))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.Refresh
}

// result is a finished request of any kind.
type result struct {
	Status int
	Header http.Header
	Body   string
}

func (f *permFixture) send(req *http.Request) *result {
	f.t.Helper()
	res, err := f.e.Client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &result{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// api calls the API as a with its bearer token (none for anon; the token
// dave had before deactivation for gone).
func (f *permFixture) api(a actor, method, path string, body any, hdr ...string) *result {
	f.t.Helper()
	tok := ""
	if u := f.users[a]; u != nil {
		tok = u.Access
	}
	r := f.e.Do(f.t, method, path, body, tok, hdr...)
	return &result{Status: r.Status, Header: r.Header, Body: string(r.Body)}
}

// withSession adds a's session cookie (sent by hand, so that dave keeps
// presenting his although the server clears it).
func (f *permFixture) withSession(req *http.Request, a actor, extra ...string) {
	var c []string
	if ws := f.sessions[a]; ws != nil {
		c = append(c, "tf_session="+ws.Token)
	}
	c = append(c, extra...)
	if len(c) > 0 {
		req.Header.Set("Cookie", strings.Join(c, "; "))
	}
}

// page requests a page as a browser of a's would: GET with form == nil,
// else a urlencoded POST carrying a's CSRF token.
func (f *permFixture) page(a actor, method, path string, form url.Values, hdr ...string) *result {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		if ws := f.sessions[a]; ws != nil && !form.Has("csrf_token") {
			form.Set("csrf_token", ws.CSRF)
		}
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.e.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	f.withSession(req, a)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return f.send(req)
}

// pageMultipart posts a multipart form as a, the CSRF token first.
func (f *permFixture) pageMultipart(a actor, path string, fields ...string) *result {
	f.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if ws := f.sessions[a]; ws != nil {
		_ = w.WriteField("csrf_token", ws.CSRF)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if name, ok := strings.CutPrefix(fields[i], "@"); ok {
			fn, content, _ := strings.Cut(fields[i+1], ":")
			fw, _ := w.CreateFormFile(name, fn)
			_, _ = fw.Write([]byte(content))
			continue
		}
		_ = w.WriteField(fields[i], fields[i+1])
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", f.e.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	f.withSession(req, a)
	return f.send(req)
}

// preSession returns a fresh sign-in form token and its cookie, as an
// anonymous browser gets them from /login.
func (f *permFixture) preSession() (token, cookie string) {
	f.t.Helper()
	r := f.page(anon, "GET", "/login", nil)
	m := csrfRE.FindStringSubmatch(r.Body)
	c := strings.Split(r.Header.Get("Set-Cookie"), ";")[0]
	if m == nil || !strings.HasPrefix(c, "tf_pre=") {
		f.t.Fatalf("no pre-session token: %d %v", r.Status, r.Header)
	}
	return m[1], c
}

// preSessionPost posts a sign-in or registration form as a, with a valid
// pre-session token pair besides a's own session cookie.
func (f *permFixture) preSessionPost(a actor, path string, form url.Values, hdr ...string) *result {
	f.t.Helper()
	tok, cookie := f.preSession()
	form.Set("csrf_token", tok)
	req, _ := http.NewRequest("POST", f.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.withSession(req, a, cookie)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return f.send(req)
}

// stream opens an event stream as a (bearer token), keeps the headers and
// hangs up.
func (f *permFixture) stream(a actor, path string) *result {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.e.URL+path, nil)
	if u := f.users[a]; u != nil {
		req.Header.Set("Authorization", "Bearer "+u.Access)
	}
	res, err := f.e.Client.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	out := &result{Status: res.StatusCode, Header: res.Header}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		out.Body = string(b)
	} else if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		f.t.Errorf("GET %s: 200 without an event stream: %v", path, res.Header)
	}
	return out
}

// servedRoutes returns every "METHOD /pattern" that routes.go registers.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 50 {
		t.Fatalf("found only %d routes in routes.go; the pattern is stale", len(out))
	}
	return out
}

// checkSecurityHeaders asserts the headers every response must carry.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q", what, h.Get("X-Content-Type-Options"))
	}
	if h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: Referrer-Policy = %q", what, h.Get("Referrer-Policy"))
	}
	if xfo := h.Get("X-Frame-Options"); xfo != "DENY" && xfo != "SAMEORIGIN" {
		t.Errorf("%s: X-Frame-Options = %q", what, xfo)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q", what, csp)
	}
	// Framing is forbidden everywhere but inline PDFs (this origin only).
	if strings.Contains(csp, "frame-ancestors") && !strings.Contains(csp, "frame-ancestors 'none'") && !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Errorf("%s: frame-ancestors in %q", what, csp)
	}
}
