package web_test

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// permRow is one route of routes.go and what each actor gets from it.
// want[a] is "STATUS", "STATUS+" (the body must contain alice's secret) or
// "STATUS LOCATION" for a redirect (a trailing * makes LOCATION a prefix).
// Every body an actor other than alice or an admin receives is checked to
// be free of alice's secret.
type permRow struct {
	route string // exactly as routes.go spells it
	send  func(f *permFixture, a actor) *result
	want  [nActors]string
}

// The usual columns: {anonymous, owner, other user, admin, deactivated}.
func everyone(s string) [nActors]string { return [nActors]string{s, s, s, s, s} }
func signedIn(ok string) [nActors]string {
	return [nActors]string{"401", ok, ok, ok, "401"}
}
func owned(ok, asAdmin string) [nActors]string {
	return [nActors]string{"401", ok, "404", asAdmin, "401"}
}
func adminOnly(ok string) [nActors]string {
	return [nActors]string{"401", "403", "403", ok, "401"}
}

const toLogin, backToLogin = "303 /login", "303 /login?next=*"

func pageSignedIn(ok string) [nActors]string {
	return [nActors]string{backToLogin, ok, ok, ok, backToLogin}
}
func pageOwned(ok, asAdmin string) [nActors]string {
	return [nActors]string{backToLogin, ok, "404", asAdmin, backToLogin}
}
func pageAdmin(ok string) [nActors]string {
	return [nActors]string{backToLogin, "403", "403", ok, backToLogin}
}
func formSignedIn(ok string) [nActors]string { return [nActors]string{toLogin, ok, ok, ok, toLogin} }
func formOwned(ok, asAdmin string) [nActors]string {
	return [nActors]string{toLogin, ok, "404", asAdmin, toLogin}
}
func formAdmin(ok string) [nActors]string { return [nActors]string{toLogin, "403", "403", ok, toLogin} }

// get and post build the common senders.
func apiGet(path func(f *permFixture) string) func(*permFixture, actor) *result {
	return func(f *permFixture, a actor) *result { return f.api(a, "GET", path(f), nil) }
}
func apiSend(method string, path func(f *permFixture) string, body any) func(*permFixture, actor) *result {
	return func(f *permFixture, a actor) *result { return f.api(a, method, path(f), body) }
}
func pageGet(path func(f *permFixture) string) func(*permFixture, actor) *result {
	return func(f *permFixture, a actor) *result { return f.page(a, "GET", path(f), nil) }
}
func pagePost(path func(f *permFixture) string, kv ...string) func(*permFixture, actor) *result {
	return func(f *permFixture, a actor) *result {
		form := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return f.page(a, "POST", path(f), form)
	}
}
func streamGet(path func(f *permFixture) string) func(*permFixture, actor) *result {
	return func(f *permFixture, a actor) *result { return f.stream(a, path(f)) }
}
func fixed(p string) func(*permFixture) string { return func(*permFixture) string { return p } }

// Paths to alice's objects; the fresh ones are new for every request, so
// that a request that changes them leaves the next actor a clean object.
func ticketPath(suffix string) func(*permFixture) string {
	return func(f *permFixture) string { return "/api/tickets/" + itoa(f.ticket) + suffix }
}
func freshTicket(prefix, suffix string) func(*permFixture) string {
	return func(f *permFixture) string { return prefix + f.newTicket() + suffix }
}
func chatPath(prefix, suffix string) func(*permFixture) string {
	return func(f *permFixture) string { return prefix + f.openChat() + suffix }
}
func attPath(suffix string) func(*permFixture) string {
	return func(f *permFixture) string { return "/api/attachments/" + itoa(f.att) + suffix }
}

func permissionRows() []permRow {
	return []permRow{
		// Public probes and documents.
		{"GET /healthz", apiGet(fixed("/healthz")), everyone("200")},
		{"GET /readyz", apiGet(fixed("/readyz")), everyone("200")},
		{"GET /api/openapi.json", apiGet(fixed("/api/openapi.json")), everyone("200")},
		{"GET /api/docs", apiGet(fixed("/api/docs")), everyone("200")},

		// Accounts: public endpoints ignore whatever token comes along.
		{"POST /api/auth/login", func(f *permFixture, a actor) *result {
			return f.api(a, "POST", "/api/auth/login", map[string]string{"username": "probe", "password": f.probe.Password})
		}, everyone("200")},
		{"POST /api/auth/register", func(f *permFixture, a actor) *result {
			name := f.uniq("reg")
			return f.api(a, "POST", "/api/auth/register", map[string]string{"email": name + "@example.com", "username": name,
				"password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, "X-Forwarded-For", "10.1.0."+strconv.Itoa(f.n))
		}, everyone("201")},
		{"POST /api/auth/refresh", func(f *permFixture, a actor) *result {
			return f.api(a, "POST", "/api/auth/refresh", map[string]string{"refresh": f.refresh(f.probe)})
		}, everyone("200")},
		// Logout revokes the login whose refresh token it is given; with an
		// access token it must be the caller's own (bob sends alice's).
		{"POST /api/auth/logout", func(f *permFixture, a actor) *result {
			var tok string
			switch a {
			case anon:
				tok = f.refresh(f.probe)
			case other:
				tok = f.refresh(f.users[owner])
			case gone:
				tok = f.users[gone].Refresh // revoked at deactivation: logging it out again is harmless
			default:
				tok = f.refresh(f.users[a])
			}
			return f.api(a, "POST", "/api/auth/logout", map[string]string{"refresh": tok})
		}, [nActors]string{"200", "200", "401", "200", "200"}},
		{"GET /api/auth/me", apiGet(fixed("/api/auth/me")), signedIn("200")},
		{"GET /api/auth/users/me", apiGet(fixed("/api/auth/users/me")), signedIn("200")},
		// Notification settings: everyone his own; there is no id to name another's.
		{"GET /api/auth/me/notifications", apiGet(fixed("/api/auth/me/notifications")), signedIn("200")},
		{"PATCH /api/auth/me/notifications", apiSend("PATCH", fixed("/api/auth/me/notifications"), map[string]bool{"ticket_status": true}), signedIn("200")},

		// User management: admins only.
		{"GET /api/users", apiGet(fixed("/api/users")), adminOnly("200")},
		{"GET /api/users/{id}", apiGet(func(f *permFixture) string { return "/api/users/" + itoa(f.users[owner].ID) }), adminOnly("200")},
		{"PATCH /api/users/{id}", func(f *permFixture, a actor) *result {
			return f.api(a, "PATCH", "/api/users/"+f.newUser(), map[string]any{"is_active": false})
		}, adminOnly("200")},

		// The mail outbox: admins only; each retry gets a failed mail of its own.
		{"GET /api/admin/outbox", apiGet(fixed("/api/admin/outbox")), adminOnly("200")},
		{"POST /api/admin/outbox/{id}/retry", apiSend("POST", func(f *permFixture) string { return "/api/admin/outbox/" + f.failedMail() + "/retry" }, nil), adminOnly("200")},

		// Tickets.
		{"GET /api/tickets", apiGet(fixed("/api/tickets")), [nActors]string{"401", "200+", "200", "200+", "401"}},
		{"POST /api/tickets", apiSend("POST", fixed("/api/tickets"), map[string]any{"title": "New", "description": "d", "category": "Technical"}), signedIn("201")},
		{"GET /api/tickets/{id}", apiGet(ticketPath("")), owned("200+", "200+")},
		{"PATCH /api/tickets/{id}/status", apiSend("PATCH", freshTicket("/api/tickets/", "/status"), map[string]any{"status": "Under Review"}), adminOnly("200")},
		{"PATCH /api/tickets/{id}/update_status", apiSend("PATCH", freshTicket("/api/tickets/", "/update_status"), map[string]any{"status": "Resolved"}), adminOnly("200")},
		{"GET /api/tickets/{id}/history", apiGet(ticketPath("/history")), owned("200", "200")},
		{"GET /api/tickets/{id}/comments", apiGet(ticketPath("/comments")), owned("200+", "200+")},
		{"POST /api/tickets/{id}/comments", apiSend("POST", ticketPath("/comments"), map[string]any{"body": "More details"}), owned("201", "201")},

		// Chats.
		{"GET /api/chat", apiGet(func(f *permFixture) string { f.openChat(); return "/api/chat" }), [nActors]string{"401", "200+", "200", "200", "401"}},
		{"POST /api/chat/messages", apiSend("POST", fixed("/api/chat/messages"), map[string]any{"body": "Hello"}), signedIn("201")},
		{"GET /api/chats", apiGet(fixed("/api/chats")), [nActors]string{"401", "200", "200", "200", "401"}},
		{"GET /api/chats/{id}", apiGet(chatPath("/api/chats/", "")), owned("200+", "200+")},
		{"POST /api/chats/{id}/messages", apiSend("POST", chatPath("/api/chats/", "/messages"), map[string]any{"body": "Hi"}), owned("201", "201")},
		{"POST /api/chats/{id}/typing", apiSend("POST", chatPath("/api/chats/", "/typing"), nil), owned("204", "204")},
		{"POST /api/chats/{id}/close", apiSend("POST", chatPath("/api/chats/", "/close"), nil), owned("200", "200")},
		{"POST /api/chats/{id}/ticket", apiSend("POST", chatPath("/api/chats/", "/ticket"), nil), adminOnly("201")},

		// Event streams.
		{"GET /api/events", streamGet(fixed("/api/events")), signedIn("200")},
		{"GET /api/tickets/{id}/events", streamGet(ticketPath("/events")), owned("200", "200")},
		{"GET /api/chats/{id}/events", streamGet(chatPath("/api/chats/", "/events")), owned("200", "200")},

		// Tawk.to webhooks: the signature is the only credential; no token
		// stands in for it.
		{"POST /api/integrations/tawk", func(f *permFixture, a actor) *result {
			return f.api(a, "POST", "/api/integrations/tawk", tawkBody, "Content-Type", "application/json", "X-Hook-Event-Id", f.uniq("ev"))
		}, everyone("401")},

		// Attachments.
		{"GET /api/attachments/{id}", apiGet(attPath("")), owned("200", "200")},
		{"GET /api/attachments/{id}/download", apiGet(attPath("/download")), owned("200", "200")},

		// Pages. A deactivated user's session is gone: he is anonymous.
		{"GET /static/{file}", func(f *permFixture, a actor) *result { return f.page(a, "GET", f.asset, nil) }, everyone("200")},
		{"GET /{$}", pageGet(fixed("/")), [nActors]string{toLogin, "303 /tickets", "303 /tickets", "303 /tickets", toLogin}},
		{"GET /login", pageGet(fixed("/login")), [nActors]string{"200", "303 /tickets", "303 /tickets", "303 /tickets", "200"}},
		{"POST /login", func(f *permFixture, a actor) *result {
			return f.preSessionPost(a, "/login", url.Values{"login": {"probe"}, "password": {f.probe.Password}})
		}, everyone("303 /tickets")},
		{"GET /register", pageGet(fixed("/register")), [nActors]string{"200", "303 /tickets", "303 /tickets", "303 /tickets", "200"}},
		{"POST /register", func(f *permFixture, a actor) *result {
			name := f.uniq("web")
			return f.preSessionPost(a, "/register", url.Values{"email": {name + "@example.com"}, "username": {name},
				"password": {"Correct-Horse-42"}, "password2": {"Correct-Horse-42"}}, "X-Forwarded-For", "10.2.0."+strconv.Itoa(f.n))
		}, everyone("303 /tickets?msg=registered")},
		{"POST /logout", func(f *permFixture, a actor) *result {
			if a == owner || a == other || a == admin {
				// A session of its own, so that the actor stays signed in.
				saved := f.sessions[a]
				defer func() { f.sessions[a] = saved }()
				_, ws, err := f.e.Svc.StartSession(f.t.Context(), appCreds(f.users[a]), "logout row")
				if err != nil {
					f.t.Fatal(err)
				}
				f.sessions[a] = ws
			}
			return f.page(a, "POST", "/logout", url.Values{})
		}, [nActors]string{toLogin, "303 /login?msg=signed_out*", "303 /login?msg=signed_out*", "303 /login?msg=signed_out*", toLogin}},
		{"GET /tickets", pageGet(fixed("/tickets")), [nActors]string{backToLogin, "200+", "200", "200+", backToLogin}},
		{"GET /tickets/new", pageGet(fixed("/tickets/new")), pageSignedIn("200")},
		{"POST /tickets/new", func(f *permFixture, a actor) *result {
			return f.pageMultipart(a, "/tickets/new", "title", "From the form", "category", "Product", "description", "d", "@attachment", "notes.txt:hello")
		}, formSignedIn("303 /tickets/*")},
		{"GET /tickets/{id}", pageGet(func(f *permFixture) string { return "/tickets/" + itoa(f.ticket) }), pageOwned("200+", "200+")},
		{"POST /tickets/{id}/status", pagePost(freshTicket("/tickets/", "/status"), "status", "Under Review"), formAdmin("303 /tickets/*")},
		{"POST /tickets/{id}/comments", func(f *permFixture, a actor) *result {
			return f.pageMultipart(a, "/tickets/"+itoa(f.ticket)+"/comments", "body", "A reply from the page")
		}, formOwned("303 /tickets/*", "303 /tickets/*")},
		{"GET /chat", pageGet(fixed("/chat")), [nActors]string{backToLogin, "200+", "200", "200", backToLogin}},
		{"POST /chat", pagePost(fixed("/chat"), "body", "Hello from the page"), formSignedIn("303 /chat#chat-msg-*")},
		{"GET /chats/{id}", pageGet(chatPath("/chats/", "")), pageOwned("200+", "303 /admin/chats/*")},
		{"POST /chats/{id}/close", pagePost(chatPath("/chats/", "/close")), formOwned("303 /chat?msg=chat_closed", "303 /admin/chats/*")},
		{"GET /admin/chats", pageGet(fixed("/admin/chats")), pageAdmin("200")},
		{"GET /admin/chats/{id}", pageGet(chatPath("/admin/chats/", "")), pageAdmin("200+")},
		{"POST /admin/chats/{id}/messages", pagePost(chatPath("/admin/chats/", "/messages"), "body", "On it"), formAdmin("303 /admin/chats/*")},
		{"POST /admin/chats/{id}/ticket", pagePost(chatPath("/admin/chats/", "/ticket")), formAdmin("303 /tickets/*")},
		{"GET /admin/users", pageGet(fixed("/admin/users")), pageAdmin("200")},
		{"POST /admin/users/{id}", func(f *permFixture, a actor) *result {
			return f.page(a, "POST", "/admin/users/"+f.newUser(), url.Values{"active": {"false"}})
		}, formAdmin("303 /admin/users?msg=user")},
		{"GET /admin/outbox", pageGet(fixed("/admin/outbox")), pageAdmin("200")},
		{"POST /admin/outbox/{id}/retry", pagePost(func(f *permFixture) string { return "/admin/outbox/" + f.failedMail() + "/retry" }), formAdmin("303 /admin/outbox?msg=retried")},
		{"GET /settings/notifications", pageGet(fixed("/settings/notifications")), pageSignedIn("200")},
		{"POST /settings/notifications", pagePost(fixed("/settings/notifications"), "ticket_status", "on", "ticket_reply", "on"), formSignedIn("303 /settings/notifications?msg=prefs")},
		// The link in alice's mail: its signed token is the credential,
		// whoever follows it and whatever session comes along.
		{"GET /unsubscribe", pageGet(func(f *permFixture) string { return f.unsub }), everyone("200")},
		{"POST /unsubscribe", func(f *permFixture, a actor) *result {
			f.resubscribe()
			return f.page(a, "POST", f.unsub, url.Values{"List-Unsubscribe": {"One-Click"}})
		}, everyone("200")},
	}
}

// TestPermissionMatrix sends every route of routes.go as each kind of
// caller and checks the exact outcome, the security headers, and that
// nothing of alice's reaches anyone but her and the admins. A route
// without a row fails the test.
func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	rows := permissionRows()
	served := servedRoutes(t)
	covered := map[string]bool{}
	for _, r := range rows {
		if covered[r.route] {
			t.Errorf("two rows for %s", r.route)
		}
		covered[r.route] = true
		if !slices.Contains(served, r.route) {
			t.Errorf("row for %s, which routes.go does not serve", r.route)
		}
	}
	for _, r := range served {
		if !covered[r] {
			t.Errorf("%s has no row in the permission matrix", r)
		}
	}
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			f := newPermFixture(t, eng.Open(t))
			for _, row := range rows {
				for a := range nActors {
					res := row.send(f, a)
					what := row.route + " as " + actorNames[a]
					checkOutcome(t, what, row.want[a], res)
					checkSecurityHeaders(t, what, res.Header)
					if a != owner && a != admin && strings.Contains(res.Body, secret) {
						t.Errorf("%s: the response shows alice's data:\n%.300s", what, res.Body)
					}
				}
			}
			testStreamIsolation(t, f)
			testMailEdges(t, f)
		})
	}
}

// testMailEdges: the outbox and unsubscribe rows' other outcomes. A mail
// that does not exist is 404 to an admin, one that has not failed 409; an
// unsubscribe link that is missing, tampered with or made for another
// notice is 404, on the page and in one-click POSTs, and turns nothing off.
func testMailEdges(t *testing.T, f *permFixture) {
	t.Helper()
	ctx := t.Context()
	if r := f.api(admin, "POST", "/api/admin/outbox/999999/retry", nil); r.Status != 404 {
		t.Errorf("API retry of a mail that does not exist: %d %s", r.Status, r.Body)
	}
	if r := f.page(admin, "POST", "/admin/outbox/999999/retry", url.Values{}); r.Status != 404 {
		t.Errorf("page retry of a mail that does not exist: %d", r.Status)
	}
	id := f.failedMail()
	if r := f.api(admin, "POST", "/api/admin/outbox/"+id+"/retry", nil); r.Status != 200 {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if r := f.api(admin, "POST", "/api/admin/outbox/"+id+"/retry", nil); r.Status != 409 {
		t.Errorf("retry of a mail that is pending again: %d %s", r.Status, r.Body)
	}

	alice := f.users[owner].User
	if p, _ := f.e.Svc.NotificationPrefs(ctx, alice); p[desk.NoticeReply] {
		t.Error("POST /unsubscribe left alice's reply notices on")
	}
	f.resubscribe()
	token := strings.TrimPrefix(f.unsub, "/unsubscribe?t=")
	parts := strings.Split(token, ".")
	forged := strings.Join([]string{parts[0], string(desk.NoticeStatus), parts[2], parts[3]}, ".") // the MAC of another notice
	bobs := strconv.FormatInt(f.users[other].ID, 36) + "." + strings.Join(parts[1:], ".")          // alice's MAC, bob's id
	for name, path := range map[string]string{
		"no token":          "/unsubscribe",
		"an empty token":    "/unsubscribe?t=",
		"a tampered token":  f.unsub + "x",
		"a truncated token": f.unsub[:len(f.unsub)-1],
		"another notice":    "/unsubscribe?t=" + forged,
		"another user's id": "/unsubscribe?t=" + bobs,
	} {
		for _, a := range []actor{anon, owner, admin} {
			if r := f.page(a, "GET", path, nil); r.Status != 404 {
				t.Errorf("GET /unsubscribe with %s as %s: %d", name, actorNames[a], r.Status)
			}
			if r := f.page(a, "POST", path, url.Values{"List-Unsubscribe": {"One-Click"}}); r.Status != 404 {
				t.Errorf("POST /unsubscribe with %s as %s: %d", name, actorNames[a], r.Status)
			}
		}
	}
	for _, u := range []*webtest.User{f.users[owner], f.users[other]} {
		if p, _ := f.e.Svc.NotificationPrefs(ctx, u.User); !p[desk.NoticeReply] || !p[desk.NoticeStatus] {
			t.Errorf("bad unsubscribe links changed %s's notices: %v", u.Username, p)
		}
	}
}

func checkOutcome(t *testing.T, what, want string, res *result) {
	t.Helper()
	code, loc, _ := strings.Cut(want, " ")
	mustShow := strings.HasSuffix(code, "+")
	if got := strconv.Itoa(res.Status); got != strings.TrimSuffix(code, "+") {
		t.Errorf("%s: status %s, want %s (Location %q)\n%.300s", what, got, want, res.Header.Get("Location"), res.Body)
		return
	}
	if mustShow && !strings.Contains(res.Body, secret) {
		t.Errorf("%s: the response lacks alice's data", what)
	}
	got := res.Header.Get("Location")
	if res.Status/100 != 3 {
		return
	}
	if prefix, ok := strings.CutSuffix(loc, "*"); ok {
		if !strings.HasPrefix(got, prefix) {
			t.Errorf("%s: Location %q, want %s", what, got, loc)
		}
	} else if got != loc {
		t.Errorf("%s: Location %q, want %q", what, got, loc)
	}
}

// testStreamIsolation: while alice's ticket and chat see every kind of
// activity, bob's streams (token and cookie) receive nothing of it: the
// next thing they see is his own new ticket. The admin's stream shows that
// the events were published.
func testStreamIsolation(t *testing.T, f *permFixture) {
	t.Helper()
	e, alice, bob, root := f.e, f.users[owner], f.users[other], f.users[admin]
	bobToken := e.Stream(t, "/api/events", bob.Access)
	bobCookie := e.Stream(t, "/api/events", "", "Cookie", "tf_session="+f.sessions[other].Token)
	rootStream := e.Stream(t, "/api/events", root.Access)
	for _, s := range []*webtest.Stream{bobToken, bobCookie, rootStream} {
		if s.Status != 200 {
			t.Fatalf("stream: %d", s.Status)
		}
	}
	if s := e.Stream(t, "/api/events", "", "Cookie", "tf_session="+f.sessions[gone].Token); s.Status != 401 {
		t.Errorf("deactivated user's cookie stream: %d", s.Status)
	}

	tk := itoa(ticketID(t, e, alice.Access, "Stream "+secret))
	steps := []struct {
		token, method, path string
		body                any
	}{
		{alice.Access, "POST", "/api/tickets/" + tk + "/comments", map[string]any{"body": "Reply " + secret}},
		{root.Access, "POST", "/api/tickets/" + tk + "/comments", map[string]any{"body": "Note " + secret, "internal": true}},
		{root.Access, "PATCH", "/api/tickets/" + tk + "/status", map[string]any{"status": "Under Review", "note": "Note " + secret}},
		{alice.Access, "POST", "/api/chat/messages", map[string]any{"body": "Chat " + secret}},
	}
	for _, s := range steps {
		if r := e.Do(t, s.method, s.path, s.body, s.token); r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, r.Status, r.Body)
		}
	}
	chat := "/api/chats/" + f.openChat()
	for _, s := range []struct{ token, path string }{{root.Access, chat + "/messages"}, {root.Access, chat + "/typing"},
		{alice.Access, chat + "/typing"}, {root.Access, chat + "/ticket"}} {
		if r := e.Do(t, "POST", s.path, map[string]any{"body": "Agent " + secret}, s.token); r.Status >= 300 {
			t.Fatalf("POST %s: %d %s", s.path, r.Status, r.Body)
		}
	}
	if ev := rootStream.NextOf(t, "chat.message"); !strings.Contains(ev.Raw, secret) {
		t.Fatalf("the admin's stream: %s", ev.Raw)
	}

	mine := ticketID(t, e, bob.Access, "Bob's own")
	for name, s := range map[string]*webtest.Stream{"token": bobToken, "cookie": bobCookie} {
		ev := s.NextReal(t)
		if ev.Name != "ticket.created" || ev.Data["ticket"].(map[string]any)["id"] != float64(mine) || strings.Contains(ev.Raw, secret) {
			t.Errorf("bob's %s stream received %s %s before his own ticket", name, ev.Name, ev.Raw)
		}
	}
}
