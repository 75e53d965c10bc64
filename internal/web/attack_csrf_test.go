package web_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// snapshot renders everything a forged request could change: tickets and
// their statuses, replies, chats and their lines, accounts, notification
// settings, the outbox, and whether each of the fixture's sessions still
// works.
func (f *permFixture) snapshot() string {
	f.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	p, err := f.e.DB.Tickets(ctx, store.TicketFilter{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	fmt.Fprintf(&b, "tickets %d:", p.Total)
	for _, tk := range p.Tickets {
		cs, _ := f.e.DB.Comments(ctx, store.CommentFilter{TicketID: tk.ID, IncludeInternal: true})
		fmt.Fprintf(&b, " %d/%s/%d", tk.ID, tk.Status, len(cs))
	}
	chats, _ := f.e.DB.Chats(ctx, store.ChatFilter{})
	b.WriteString("\nchats:")
	for _, c := range chats {
		ms, _ := f.e.DB.ChatMessages(ctx, c.ID, 0)
		fmt.Fprintf(&b, " %d/%s/%d/%d", c.ID, c.Status, c.TicketID, len(ms))
	}
	users, _, _ := f.e.DB.Users(ctx, store.UserFilter{Limit: 200})
	b.WriteString("\nusers:")
	for _, u := range users {
		fmt.Fprintf(&b, " %s/%s/%v", u.Username, u.Role, u.Active)
	}
	b.WriteString("\nnotifications:")
	for _, u := range users {
		off, _ := f.e.DB.UserOptOuts(ctx, u.ID)
		fmt.Fprintf(&b, " %s/%d", u.Username, len(off))
		for _, n := range slices.Sorted(maps.Keys(off)) {
			fmt.Fprintf(&b, "/%s=%v", n, off[n])
		}
	}
	mails, _, _ := f.e.DB.Mails(ctx, store.MailFilter{Limit: 200})
	b.WriteString("\noutbox:")
	for _, m := range mails {
		fmt.Fprintf(&b, " %d/%s/%d", m.ID, m.Status, m.Attempts)
	}
	b.WriteString("\nsessions:")
	for _, ws := range f.sessions {
		if ws != nil {
			_, _, err := f.e.Svc.SessionUser(ctx, ws.Token)
			fmt.Fprintf(&b, " %v", err == nil)
		}
	}
	return b.String()
}

// csrfRow is a state-changing route reached with a browser session. send
// posts it as actor a with the given CSRF token ("" for none) and extra
// headers; the target is fixed by prepare, once per row.
type csrfRow struct {
	route   string
	as      actor
	prepare func(f *permFixture) string // the path
	send    func(f *permFixture, a actor, path, token string, hdr ...string) *result
	ok      int // the status of the genuine request
}

func formSender(kv ...string) func(*permFixture, actor, string, string, ...string) *result {
	return func(f *permFixture, a actor, path, token string, hdr ...string) *result {
		form := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		form.Set("csrf_token", token)
		if token == "" {
			form.Del("csrf_token")
		}
		req, _ := http.NewRequest("POST", f.e.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return f.sendAs(req, a, hdr)
	}
}

func multipartSender(kv ...string) func(*permFixture, actor, string, string, ...string) *result {
	return func(f *permFixture, a actor, path, token string, hdr ...string) *result {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if token != "" {
			_ = w.WriteField("csrf_token", token)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			_ = w.WriteField(kv[i], kv[i+1])
		}
		fw, _ := w.CreateFormFile("attachment", "notes.txt")
		_, _ = fw.Write([]byte("some notes"))
		_ = w.Close()
		req, _ := http.NewRequest("POST", f.e.URL+path, &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return f.sendAs(req, a, hdr)
	}
}

func apiCookieSender(method, body string) func(*permFixture, actor, string, string, ...string) *result {
	return func(f *permFixture, a actor, path, token string, hdr ...string) *result {
		req, _ := http.NewRequest(method, f.e.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		return f.sendAs(req, a, hdr)
	}
}

// sendAs sends req with a's session cookie and extra headers.
func (f *permFixture) sendAs(req *http.Request, a actor, hdr []string) *result {
	f.withSession(req, a)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return f.send(req)
}

func csrfRows() []csrfRow {
	ticket := func(f *permFixture) string { return "/tickets/" + f.newTicket() }
	chat := func(prefix string) func(*permFixture) string {
		return func(f *permFixture) string { return prefix + f.openChat() }
	}
	return []csrfRow{
		{"POST /logout", owner, func(*permFixture) string { return "/logout" }, formSender(), 303},
		{"POST /tickets/new", owner, func(*permFixture) string { return "/tickets/new" },
			multipartSender("title", "Forged", "category", "Product", "description", "d"), 303},
		{"POST /tickets/{id}/status", admin, func(f *permFixture) string { return ticket(f) + "/status" }, formSender("status", "Resolved"), 303},
		{"POST /tickets/{id}/comments", owner, func(f *permFixture) string { return ticket(f) + "/comments" }, multipartSender("body", "Forged"), 303},
		{"POST /chat", owner, func(*permFixture) string { return "/chat" }, formSender("body", "Forged"), 303},
		{"POST /chats/{id}/close", owner, func(f *permFixture) string { return chat("/chats/")(f) + "/close" }, formSender(), 303},
		{"POST /admin/chats/{id}/messages", admin, func(f *permFixture) string { return chat("/admin/chats/")(f) + "/messages" }, formSender("body", "Forged"), 303},
		{"POST /admin/chats/{id}/ticket", admin, func(f *permFixture) string { return chat("/admin/chats/")(f) + "/ticket" }, formSender("title", "Forged"), 303},
		{"POST /admin/users/{id}", admin, func(f *permFixture) string { return "/admin/users/" + f.newUser() }, formSender("active", "false"), 303},
		{"POST /admin/outbox/{id}/retry", admin, func(f *permFixture) string { return "/admin/outbox/" + f.failedMail() + "/retry" }, formSender(), 303},
		// Every notice not checked is turned off.
		{"POST /settings/notifications", owner, func(*permFixture) string { return "/settings/notifications" }, formSender("ticket_status", "on"), 303},

		// The API with a session cookie: the token goes in X-CSRF-Token.
		{"POST /api/tickets", owner, func(*permFixture) string { return "/api/tickets" }, apiCookieSender("POST", `{"title":"Forged","description":"d","category":"Product"}`), 201},
		{"PATCH /api/tickets/{id}/status", admin, func(f *permFixture) string { return "/api/tickets/" + f.newTicket() + "/status" }, apiCookieSender("PATCH", `{"status":"Resolved"}`), 200},
		{"PATCH /api/tickets/{id}/update_status", admin, func(f *permFixture) string { return "/api/tickets/" + f.newTicket() + "/update_status" }, apiCookieSender("PATCH", `{"status":"Resolved"}`), 200},
		{"POST /api/tickets/{id}/comments", owner, func(f *permFixture) string { return "/api/tickets/" + f.newTicket() + "/comments" }, apiCookieSender("POST", `{"body":"Forged"}`), 201},
		{"PATCH /api/users/{id}", admin, func(f *permFixture) string { return "/api/users/" + f.newUser() }, apiCookieSender("PATCH", `{"is_active":false}`), 200},
		{"POST /api/chat/messages", owner, func(*permFixture) string { return "/api/chat/messages" }, apiCookieSender("POST", `{"body":"Forged"}`), 201},
		{"POST /api/chats/{id}/messages", owner, func(f *permFixture) string { return chat("/api/chats/")(f) + "/messages" }, apiCookieSender("POST", `{"body":"Forged"}`), 201},
		{"POST /api/chats/{id}/typing", owner, func(f *permFixture) string { return chat("/api/chats/")(f) + "/typing" }, apiCookieSender("POST", ``), 204},
		{"POST /api/chats/{id}/close", owner, func(f *permFixture) string { return chat("/api/chats/")(f) + "/close" }, apiCookieSender("POST", ``), 200},
		{"POST /api/chats/{id}/ticket", admin, func(f *permFixture) string { return chat("/api/chats/")(f) + "/ticket" }, apiCookieSender("POST", `{"title":"Forged"}`), 201},
		{"PATCH /api/auth/me/notifications", other, func(*permFixture) string { return "/api/auth/me/notifications" }, apiCookieSender("PATCH", `{"ticket_reply":false}`), 200},
		{"POST /api/admin/outbox/{id}/retry", admin, func(f *permFixture) string { return "/api/admin/outbox/" + f.failedMail() + "/retry" }, apiCookieSender("POST", ``), 200},
	}
}

// csrfExempt are the unsafe routes that never act on a session's
// authority, and why.
var csrfExempt = map[string]string{
	"POST /login":                 "pre-session token bound to its own cookie (TestCSRFPreSessionForms)",
	"POST /register":              "pre-session token bound to its own cookie (TestCSRFPreSessionForms)",
	"POST /api/auth/login":        "credentials in the body; no cookie is read",
	"POST /api/auth/register":     "creates an account from the body; no cookie is read",
	"POST /api/auth/refresh":      "the refresh token in the body is the credential",
	"POST /api/auth/logout":       "the refresh token in the body is the credential; a cookie can only narrow it",
	"POST /api/integrations/tawk": "authenticated by its HMAC signature",
	// RFC 8058: mail programs unsubscribe with a bare POST to the link, with
	// no cookie and no CSRF token. A session is never read, and the signed
	// token names the one user and notice it turns off (testUnsubscribeForgery).
	"POST /unsubscribe": "the signed token in the link is the credential; RFC 8058 one-click POSTs carry no cookie",
}

// TestCSRFEveryForm sends every state-changing route of routes.go that a
// browser session can reach with no token, a wrong one, another session's
// and (for pages) a genuine one from a cross-site origin: each is 403 and
// changes nothing. The genuine request then works, which shows that the
// forgeries would have changed something. A new unsafe route without a row
// fails the test.
func TestCSRFEveryForm(t *testing.T) {
	t.Parallel()
	rows := csrfRows()
	have := map[string]bool{}
	for _, r := range rows {
		have[r.route] = true
	}
	for _, r := range servedRoutes(t) {
		if strings.HasPrefix(r, "GET ") || have[r] || csrfExempt[r] != "" {
			continue
		}
		t.Errorf("%s changes state but has no CSRF row and no exemption", r)
	}
	f := newPermFixture(t, storetest.SQLite(t))
	for _, row := range rows {
		testCSRFRow(t, f, row)
	}
	testUnsubscribeForgery(t, f)
}

// testUnsubscribeForgery: POST /unsubscribe, exempt from CSRF tokens, is
// refused (404) and changes nothing without a genuine signed token, even
// with a session and its CSRF token; the genuine link works from a mail
// program with no cookie at all.
func testUnsubscribeForgery(t *testing.T, f *permFixture) {
	t.Helper()
	f.resubscribe()
	token := strings.TrimPrefix(f.unsub, "/unsubscribe?t=")
	parts := strings.Split(token, ".")
	attempts := map[string]string{
		"no token":          "/unsubscribe",
		"an empty token":    "/unsubscribe?t=",
		"a wrong token":     "/unsubscribe?t=forged-" + parts[3],
		"a tampered token":  f.unsub + "x",
		"another notice":    "/unsubscribe?t=" + strings.Join([]string{parts[0], string(desk.NoticeStatus), parts[2], parts[3]}, "."),
		"another user's id": "/unsubscribe?t=" + strconv.FormatInt(f.users[other].ID, 36) + "." + strings.Join(parts[1:], "."),
	}
	oneClick := url.Values{"List-Unsubscribe": {"One-Click"}}
	before := f.snapshot()
	for name, path := range attempts {
		for _, a := range []actor{anon, owner, other} {
			// page adds a's genuine CSRF token: it must not stand in for the link's.
			if r := f.page(a, "POST", path, oneClick); r.Status != http.StatusNotFound {
				t.Errorf("POST /unsubscribe with %s as %s: %d", name, actorNames[a], r.Status)
			}
			if after := f.snapshot(); after != before {
				t.Fatalf("POST /unsubscribe with %s as %s changed the data:\n%s\n→\n%s", name, actorNames[a], before, after)
			}
		}
	}
	if r := f.page(anon, "POST", f.unsub, oneClick, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusOK {
		t.Errorf("one-click POST /unsubscribe from a mail program: %d\n%.300s", r.Status, r.Body)
	} else if after := f.snapshot(); after == before {
		t.Error("one-click POST /unsubscribe with the genuine link changed nothing")
	}
}

func testCSRFRow(t *testing.T, f *permFixture, row csrfRow) {
	t.Helper()
	path := row.prepare(f)
	if row.route == "POST /logout" {
		// A session of its own, which the forgeries must not end.
		_, ws, err := f.e.Svc.StartSession(context.Background(), appCreds(f.users[owner]), "csrf")
		if err != nil {
			t.Fatal(err)
		}
		saved := f.sessions[owner]
		f.sessions[owner] = ws
		defer func() { f.sessions[owner] = saved }()
	}
	good := f.sessions[row.as].CSRF
	othersToken := f.sessions[other].CSRF
	if row.as == other {
		othersToken = f.sessions[owner].CSRF
	}
	attempts := []struct {
		name, token string
		hdr         []string
	}{
		{"no token", "", nil},
		{"a wrong token", "forged-" + good[:8], nil},
		{"the token in upper case", strings.ToUpper(good), nil},
		{"another session's token", othersToken, nil},
	}
	if !strings.Contains(row.route, " /api/") {
		attempts = append(attempts, struct {
			name, token string
			hdr         []string
		}{"a genuine token from another site", good, []string{"Sec-Fetch-Site", "cross-site"}},
			struct {
				name, token string
				hdr         []string
			}{"a genuine token with a foreign Origin", good, []string{"Origin", "https://evil.example"}})
	}
	before := f.snapshot()
	for _, a := range attempts {
		r := row.send(f, row.as, path, a.token, a.hdr...)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s with %s: %d", row.route, a.name, r.Status)
		}
		if after := f.snapshot(); after != before {
			t.Fatalf("%s with %s changed the data:\n%s\n→\n%s", row.route, a.name, before, after)
		}
	}
	if r := row.send(f, row.as, path, good); r.Status != row.ok {
		t.Errorf("%s with the genuine token: %d, want %d\n%.300s", row.route, r.Status, row.ok, r.Body)
	} else if after := f.snapshot(); after == before && row.route != "POST /api/chats/{id}/typing" {
		t.Errorf("%s with the genuine token changed nothing", row.route)
	}
}

// TestCSRFPreSessionForms: the sign-in and registration forms refuse a
// missing, wrong or stolen token (another browser's, valid for its own
// cookie), and no session or account results.
func TestCSRFPreSessionForms(t *testing.T) {
	t.Parallel()
	f := newPermFixture(t, storetest.SQLite(t))
	tok, cookie := f.preSession()
	stolen, _ := f.preSession()
	for _, path := range []string{"/login", "/register"} {
		for name, c := range map[string]struct{ token, cookie string }{
			"no token":          {"", cookie},
			"no cookie":         {tok, ""},
			"a wrong token":     {"forged", cookie},
			"a stolen token":    {stolen, cookie},
			"a session's token": {f.sessions[owner].CSRF, cookie},
		} {
			form := url.Values{"login": {"probe"}, "password": {f.probe.Password}, "email": {"new@example.com"}, "username": {"newbie"},
				"password2": {f.probe.Password}, "csrf_token": {c.token}}
			req, _ := http.NewRequest("POST", f.e.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if c.cookie != "" {
				req.Header.Set("Cookie", c.cookie)
			}
			r := f.send(req)
			if r.Status != http.StatusForbidden || slices.ContainsFunc(r.Header.Values("Set-Cookie"), func(s string) bool { return strings.HasPrefix(s, "tf_session=") }) {
				t.Errorf("%s with %s: %d %v", path, name, r.Status, r.Header.Values("Set-Cookie"))
			}
		}
	}
	if _, err := f.e.DB.UserByLogin(context.Background(), "newbie"); err == nil {
		t.Error("a forged registration created an account")
	}
}
