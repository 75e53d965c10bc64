package web_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

// xssCorpus is what attackers type into text fields. None contains "+",
// which html/template escapes and text/template's HTMLEscapeString (used
// below to predict the output) does not.
var xssCorpus = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'><svg/onload=alert(1)>`,
	`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>`,
	`javascript:alert(document.cookie)`,
	`<a href="javascript:alert(1)">click</a>`,
	`</textarea><script>alert(1)</script>`,
	`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	`<style>body{display:none}</style>`,
	`{{.Layout.CSRF}} {{template "layout.html" .}} ${7*7} <%= 7*7 %>`,
	`&lt;script&gt;alert(1)&lt;/script&gt;`,
	"\u202eevil\u202c RTL \u2067isolate\u2069 zero\u200bwidth\u200d\ufeffjoin",
}

// dangerous are fragments that may only ever appear escaped: each starts a
// real tag or attribute if it appears raw.
var dangerous = []string{"<script>alert", "<img src=x", "<svg/onload", "<svg xmlns", "<a href=\"javascript", "<iframe srcdoc",
	"<style>body", "<b onmouseover", "\"><svg onload"}

var (
	tagRE  = regexp.MustCompile(`<[a-zA-Z][^<>]*>`)
	attrRE = regexp.MustCompile(`\s([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
)

// badAttribute returns the first attribute of a tag in body that is an
// event handler or a URL with the javascript: scheme.
func badAttribute(body string) string {
	for _, tag := range tagRE.FindAllString(body, -1) {
		for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
			name := strings.ToLower(a[1])
			value := strings.ToLower(strings.TrimSpace(html.UnescapeString(strings.Trim(a[2], `"'`))))
			if strings.HasPrefix(name, "on") {
				return tag
			}
			switch name {
			case "href", "src", "action", "formaction", "data", "poster", "xlink:href", "srcdoc":
				if strings.HasPrefix(value, "javascript:") || strings.HasPrefix(value, "data:text/html") || name == "srcdoc" {
					return tag
				}
			}
		}
	}
	return ""
}

// checkPage fails if body could run anything an attacker wrote: a raw
// dangerous fragment, an event-handler attribute, a javascript: URL, or a
// script without the page's nonce.
func checkPage(t *testing.T, what string, status int, body string) {
	t.Helper()
	if status >= 500 {
		t.Errorf("%s: %d", what, status)
	}
	for _, d := range dangerous {
		if strings.Contains(body, d) {
			t.Errorf("%s contains raw %q", what, d)
		}
	}
	if tag := badAttribute(body); tag != "" {
		t.Errorf("%s has a script attribute: %s", what, tag)
	}
	for _, tag := range scriptTagRE.FindAllString(body, -1) {
		if !nonceAttrRE.MatchString(tag) || !strings.Contains(tag, `src="/static/`) {
			t.Errorf("%s: script tag %s", what, tag)
		}
	}
}

// shown is how a page must show user text v: escaped, and as the whole
// content of an element, so that direction overrides in it end with it.
func shown(v string) string { return ">" + template.HTMLEscapeString(v) + "<" }

// TestXSSCorpus puts every payload into every text field (ticket title and
// description, reply, internal note, status note, chat lines both ways,
// file name, and the username and email of an imported account) and reads
// every page that renders them as the owner and as an admin, plus the
// forms that echo input back. It also checks that the corpus cannot be
// registered as a username and that the JSON and event stream encodings
// carry no raw markup.
func TestXSSCorpus(t *testing.T) {
	t.Parallel()
	e := env(t)
	ctx := context.Background()
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	watch := e.Stream(t, "/api/events", root.Access) // an agent online: chats stay chats

	// An account whose name and email bypassed validation (an old import).
	evil := &desk.User{Email: `"><svg onload=alert(1)>@example.com`, Username: `<b onmouseover=alert(1)>mallory</b>`,
		Role: desk.RoleUser, Active: true, DateJoined: e.Clock.Now()}
	if err := e.DB.CreateUser(ctx, evil); err != nil {
		t.Fatal(err)
	}
	evilTicket, err := e.Svc.CreateTicket(ctx, evil, desk.NewTicket{Title: "From mallory", Description: "d", Category: "Product"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	evilChat, err := e.Svc.SendChatMessage(ctx, evil, 0, "hello from mallory")
	if err != nil {
		t.Fatal(err)
	}

	type ticketPayload struct {
		id       int64
		p        string
		filename string
	}
	var tickets []ticketPayload
	var chatID int64
	for _, p := range xssCorpus {
		m := webtest.NewMultipart().Field("title", p+" [title]").Field("category", "Technical").Field("description", p+" [description]").
			File("attachment", p+".txt", []byte("plain text")).Close()
		r := e.Do(t, "POST", "/api/tickets", m, jane.Access)
		if r.Status != 201 {
			t.Fatalf("create %q: %d %s", p, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "<script") {
			t.Errorf("JSON carries raw markup: %s", r.Body)
		}
		id := int64(r.JSON["id"].(float64))
		fn := r.JSON["attachments"].([]any)[0].(map[string]any)["filename"].(string)
		tickets = append(tickets, ticketPayload{id, p, fn})
		tk := "/api/tickets/" + itoa(id)
		for _, s := range []struct {
			token, method, path string
			body                map[string]any
		}{
			{jane.Access, "POST", tk + "/comments", map[string]any{"body": p + " [reply]"}},
			{root.Access, "POST", tk + "/comments", map[string]any{"body": p + " [note]", "internal": true}},
			{root.Access, "PATCH", tk + "/status", map[string]any{"status": "Under Review", "note": p + " [status]"}},
			{jane.Access, "POST", "/api/chat/messages", map[string]any{"body": p + " [chat]"}},
		} {
			r := e.Do(t, s.method, s.path, s.body, s.token)
			if r.Status >= 300 {
				t.Fatalf("%s %s: %d %s", s.method, s.path, r.Status, r.Body)
			}
			if s.path == "/api/chat/messages" {
				chatID = int64(r.JSON["chat"].(map[string]any)["id"].(float64))
			}
		}
		if r := e.Do(t, "POST", "/api/chats/"+itoa(chatID)+"/messages", map[string]any{"body": p + " [agent]"}, root.Access); r.Status != 201 {
			t.Fatalf("agent: %d %s", r.Status, r.Body)
		}
		// Usernames are ASCII words; the corpus cannot be registered.
		if r := e.Do(t, "POST", "/api/auth/register", map[string]string{"email": "x@example.com", "username": p,
			"password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, ""); r.Status != 400 || r.JSON["username"] == nil {
			t.Errorf("username %q: %d %s", p, r.Status, r.Body)
		}
	}

	jb, rb := newBrowserless(t, e), newBrowserless(t, e)
	jcsrf, rcsrf := jb.signIn("jane", jane.Password), rb.signIn("root", root.Password)
	read := func(b *browserless, who, path string, want ...string) string {
		t.Helper()
		r := b.get(path)
		if r.Status != 200 {
			t.Errorf("%s GET %s: %d", who, path, r.Status)
		}
		checkPage(t, who+" "+path, r.Status, r.Body)
		for _, w := range want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s GET %s does not show %q", who, path, w)
			}
		}
		return r.Body
	}
	var chatLines []string
	for _, tp := range tickets {
		path := "/tickets/" + itoa(tp.id)
		both := []string{shown(tp.p + " [title]"), shown(tp.p + " [description]"), shown(tp.p + " [reply]"), shown(tp.p + " [status]"), shown(tp.filename)}
		read(jb, "jane", path, both...)
		read(rb, "root", path, append(both, shown(tp.p+" [note]"))...)
		read(rb, "root", "/tickets?search="+url.QueryEscape(tp.p), `value="`+template.HTMLEscapeString(tp.p)+`"`)
		read(rb, "root", "/admin/users?search="+url.QueryEscape(tp.p), `value="`+template.HTMLEscapeString(tp.p)+`"`)
		chatLines = append(chatLines, shown(tp.p+" [chat]"), shown(tp.p+" [agent]"))
	}
	read(jb, "jane", "/tickets", shown(tickets[0].p+" [title]"))
	read(rb, "root", "/tickets", shown(tickets[0].p+" [title]"), shown(evil.Username))
	read(jb, "jane", "/chat", chatLines...)
	read(jb, "jane", "/chats/"+itoa(chatID), chatLines...)
	read(rb, "root", "/admin/chats/"+itoa(chatID), chatLines...)
	read(rb, "root", "/admin/chats", shown(evil.Username))
	read(rb, "root", "/admin/chats/"+itoa(evilChat.Chat.ID), shown(evil.Username), template.HTMLEscapeString(evil.Email))
	read(rb, "root", "/admin/users", shown(evil.Username), shown(evil.Email))
	read(rb, "root", "/tickets/"+itoa(evilTicket.ID), shown(evil.Username))

	// A chat turned into a ticket: the title comes from the first line.
	r := e.Do(t, "POST", "/api/chats/"+itoa(chatID)+"/ticket", nil, root.Access)
	if r.Status != 201 {
		t.Fatalf("convert: %d %s", r.Status, r.Body)
	}
	read(jb, "jane", "/tickets/"+itoa(int64(r.JSON["id"].(float64))), shown(r.JSON["title"].(string)))

	// Forms that come back with the input kept.
	for _, p := range xssCorpus {
		pr := jb.postMultipart("/tickets/new", "csrf_token", jcsrf, "title", p, "category", "Nope", "description", p)
		checkPage(t, "new-ticket form with "+p, pr.Status, pr.Body)
		if pr.Status != 400 || !strings.Contains(pr.Body, template.HTMLEscapeString(p)) {
			t.Errorf("new-ticket form with %q: %d", p, pr.Status)
		}
		pr = jb.postMultipart(fmt.Sprintf("/tickets/%d/comments", tickets[0].id), "csrf_token", jcsrf, "body", p+strings.Repeat("x", 20001))
		checkPage(t, "reply form with "+p, pr.Status, pr.Body)
		if pr.Status != 400 || !strings.Contains(pr.Body, template.HTMLEscapeString(p)) {
			t.Errorf("reply form with %q: %d", p, pr.Status)
		}
		pr = rb.post("/admin/chats/"+itoa(evilChat.Chat.ID)+"/ticket", url.Values{"csrf_token": {rcsrf}, "title": {p}, "category": {"Nope"}})
		checkPage(t, "convert form with "+p, pr.Status, pr.Body)
		if pr.Status != 400 || !strings.Contains(pr.Body, `value="`+template.HTMLEscapeString(p)+`"`) {
			t.Errorf("convert form with %q: %d", p, pr.Status)
		}
		pr = newBrowserless(t, e).get("/login?next=" + url.QueryEscape("/tickets?q="+p))
		checkPage(t, "sign-in page with next "+p, pr.Status, pr.Body)
	}

	// The event stream's JSON is escaped the same way.
	for range 20 {
		if ev := watch.Next(t); strings.Contains(ev.Raw, "<script") || strings.Contains(ev.Raw, "<svg") {
			t.Fatalf("event %s carries raw markup: %s", ev.Name, ev.Raw)
		}
	}
}
