package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// bodyState is what a refused request must leave unchanged.
type bodyState struct{ tickets, comments, messages, blobs int }

func stateOf(t *testing.T, e *webtest.Env, ticket, chat int64) bodyState {
	t.Helper()
	ctx := context.Background()
	p, err := e.DB.Tickets(ctx, store.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := e.DB.Comments(ctx, store.CommentFilter{TicketID: ticket, IncludeInternal: true})
	ms, _ := e.DB.ChatMessages(ctx, chat, 0)
	return bodyState{p.Total, len(cs), len(ms), e.BlobCount(t)}
}

// TestOversizeAndMalformedBodies sends bodies that are too large (413) or
// malformed (400, or 415 for media types nobody accepts) to every endpoint
// that takes a body, and checks that nothing was stored: no ticket, reply,
// chat line, file or upload intent.
func TestOversizeAndMalformedBodies(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			testOversizeAndMalformedBodies(t, webtest.New(t, eng.Open(t),
				webtest.Options{App: app.Config{MaxUploadBytes: maxFile, MaxAttachments: 2}, Web: web.Config{TawkWebhookSecret: tawkSecret}}))
		})
	}
}

const maxFile = 64 << 10

func testOversizeAndMalformedBodies(t *testing.T, e *webtest.Env) {
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	e.Stream(t, "/api/events", root.Access) // an agent online: chats stay chats
	ticket := ticketID(t, e, jane.Access, "Target")
	r := e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "hi"}, jane.Access)
	chat := int64(r.JSON["chat"].(map[string]any)["id"].(float64))
	tk, ch := "/api/tickets/"+itoa(ticket), "/api/chats/"+itoa(chat)
	before := stateOf(t, e, ticket, chat)

	bigFile := append(append([]byte{}, pngFile...), bytes.Repeat([]byte("x"), maxFile)...)
	bigJSON := `{"title":"` + strings.Repeat("x", 1<<20) + `","description":"d","category":"Technical","body":"x","status":"Resolved","is_active":true}`
	manyFields := ticketForm("Many")
	for i := range 12 {
		manyFields.Field("filler"+itoa(int64(i)), strings.Repeat("f", 100<<10))
	}
	cut := ticketForm("Cut").File("attachment", "a.png", pngFile)
	cutBody := strings.TrimSuffix(string(webtest.NewMultipart().Field("title", "x").Close().Bytes()), "--\r\n")
	type req struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
	}
	mp := func(m *webtest.Multipart) any { return m.Close() }
	multipartHdr := func(boundary string) []string {
		return []string{"Content-Type", "multipart/form-data; boundary=" + boundary}
	}
	tests := []req{
		{"file over the cap", "POST", "/api/tickets", mp(ticketForm("Big").File("attachment", "big.png", bigFile)), nil, 413},
		{"good file, then one over the cap", "POST", "/api/tickets", mp(ticketForm("Big").File("attachment", "ok.png", pngFile).File("attachment", "big.png", bigFile)), nil, 413},
		{"body over the total cap", "POST", "/api/tickets", mp(manyFields), nil, 413},
		{"JSON over 1 MiB", "POST", "/api/tickets", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"reply file over the cap", "POST", tk + "/comments", mp(webtest.NewMultipart().Field("body", "b").File("attachment", "big.png", bigFile)), nil, 413},
		{"reply JSON over 1 MiB", "POST", tk + "/comments", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"chat JSON over 1 MiB", "POST", "/api/chat/messages", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"chat line JSON over 1 MiB", "POST", ch + "/messages", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"status JSON over 1 MiB", "PATCH", tk + "/status", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"user JSON over 1 MiB", "PATCH", "/api/users/" + itoa(jane.ID), bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"registration over 1 MiB", "POST", "/api/auth/register", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"login over 1 MiB", "POST", "/api/auth/login", bigJSON, []string{"Content-Type", "application/json"}, 413},
		{"webhook over 1 MiB", "POST", "/api/integrations/tawk", bigJSON, []string{"Content-Type", "application/json", "X-Tawk-Signature", sign(tawkSecret, bigJSON)}, 413},
		{"a field over its cap", "POST", "/api/tickets", mp(ticketForm("Long").Field("description", strings.Repeat("d", 129<<10))), nil, 400},
		{"three files (two allowed)", "POST", "/api/tickets", mp(ticketForm("Three").File("attachment", "1.png", pngFile).File("attachment", "2.png", pngFile).File("attachment", "3.png", pngFile)), nil, 400},
		{"multipart without a boundary", "POST", "/api/tickets", "x", []string{"Content-Type", "multipart/form-data"}, 400},
		{"wrong boundary", "POST", "/api/tickets", string(ticketForm("x").Close().Bytes()), multipartHdr("nope"), 400},
		{"cut short", "POST", "/api/tickets", cutBody, multipartHdr(webtest.NewMultipart().Boundary()), 400},
		{"cut in a file", "POST", "/api/tickets", string(cut.Bytes()), multipartHdr(cut.Boundary()), 400},
		{"reply cut short", "POST", tk + "/comments", cutBody, multipartHdr(webtest.NewMultipart().Boundary()), 400},
		{"part header too long", "POST", "/api/tickets", "--b\r\nContent-Disposition: form-data; name=\"" + strings.Repeat("n", 1<<20) + "\"\r\n\r\nx\r\n--b--\r\n", multipartHdr("b"), 400},
		{"invalid UTF-8 title", "POST", "/api/tickets", mp(webtest.NewMultipart().Field("title", "\xff\xfe").Field("category", "Technical").Field("description", "d")), nil, 400},
		{"NUL in a JSON title", "POST", "/api/tickets", `{"title":"a\u0000b","description":"d","category":"Technical"}`, []string{"Content-Type", "application/json"}, 400},
		{"NUL in a reply", "POST", tk + "/comments", `{"body":"a\u0000b"}`, []string{"Content-Type", "application/json"}, 400},
		{"NUL in a chat line", "POST", "/api/chat/messages", `{"body":"\u0000"}`, []string{"Content-Type", "application/json"}, 400},
		{"bad internal flag", "POST", tk + "/comments", mp(webtest.NewMultipart().Field("body", "b").Field("internal", "maybe").File("attachment", "a.png", pngFile)), nil, 400},
		{"malformed form", "POST", "/api/tickets", "title=%zz&category=Technical", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400},
		{"text/plain body", "POST", "/api/tickets", "title=x", []string{"Content-Type", "text/plain"}, 415},
		{"XML body", "POST", tk + "/comments", "<body>x</body>", []string{"Content-Type", "application/xml"}, 415},
		{"multipart/mixed", "POST", "/api/chat/messages", "x", []string{"Content-Type", "multipart/mixed; boundary=b"}, 415},
	}
	syntax := []string{"{", `{"title":"a"`, "[]", `"str"`, `{}]`, `{} {}`, `{"a":1}}`, strings.Repeat("[", 10000), "\xff\xfe{}",
		`{"title":"x",}`, `{'title':'x'}`, "{\"title\":\"x\"}\x00", `{"is_active":"yes"}`, `{"role":1}`}
	// Well-formed but useless: nothing to create from (a PATCH of a user
	// that changes nothing is a valid no-op, so it gets only the syntax).
	useless := []string{"null", `{"title":1}`, `{"body":true}`, `{"status":["Resolved"]}`, `{"body":{"$ne":""}}`}
	for _, raw := range append(syntax, useless...) {
		for _, path := range []string{"/api/tickets", tk + "/comments", "/api/chat/messages", ch + "/messages", tk + "/status", "/api/users/" + itoa(jane.ID)} {
			if strings.HasPrefix(path, "/api/users/") && slices.Contains(useless, raw) {
				continue
			}
			method := "POST"
			if strings.HasSuffix(path, "/status") || strings.HasPrefix(path, "/api/users/") {
				method = "PATCH"
			}
			tests = append(tests, req{"JSON " + raw[:min(len(raw), 20)], method, path, raw, []string{"Content-Type", "application/json"}, 400})
		}
	}
	for _, tt := range tests {
		token := jane.Access
		if tt.method == "PATCH" {
			token = root.Access
		}
		r := e.Do(t, tt.method, tt.path, tt.body, token, tt.hdr...)
		if r.Status != tt.status || r.JSON == nil {
			t.Errorf("%s → %s %s: %d, want %d: %.200s", tt.name, tt.method, tt.path, r.Status, tt.status, r.Body)
		}
	}

	// The pages: the same limits, shown as pages.
	b := newBrowserless(t, e)
	csrf := b.signIn("jane", jane.Password)
	pages := []struct {
		name   string
		resp   *pageResp
		status int
	}{
		{"new-ticket page, file over the cap", b.postMultipart("/tickets/new", "csrf_token", csrf, "title", "Big", "category", "Product", "description", "d", "@attachment", "big.png:"+string(bigFile)), 413},
		{"reply page, file over the cap", b.postMultipart("/tickets/"+itoa(ticket)+"/comments", "csrf_token", csrf, "body", "b", "@attachment", "big.png:"+string(bigFile)), 413},
		{"chat form over 64 KiB", b.post("/chat", url.Values{"csrf_token": {csrf}, "body": {strings.Repeat("x", 70<<10)}}), 413},
		{"sign-in form over 64 KiB", newBrowserless(t, e).post("/login", url.Values{"login": {strings.Repeat("x", 70<<10)}}), 413},
		{"registration form over 64 KiB", newBrowserless(t, e).post("/register", url.Values{"email": {strings.Repeat("x", 70<<10)}}), 413},
		{"malformed chat form", b.postRaw("/chat", "csrf_token="+csrf+"&body=%zz", "application/x-www-form-urlencoded"), 400},
		// The token must be the first part: a body without one is refused as forged.
		{"malformed multipart page", b.postRaw("/tickets/new", "--b\r\nnot a part", "multipart/form-data; boundary=b"), 403},
	}
	for _, p := range pages {
		if p.resp.Status != p.status || !strings.HasPrefix(p.resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d, want %d", p.name, p.resp.Status, p.status)
		}
	}

	if after := stateOf(t, e, ticket, chat); after != before {
		t.Errorf("refused requests changed the data: %+v → %+v", before, after)
	}
	assertNoIntents(t, e)
	if r := e.Do(t, "GET", "/api/auth/me", nil, jane.Access); r.Status != http.StatusOK {
		t.Fatalf("the server is unwell: %d", r.Status)
	}
}
