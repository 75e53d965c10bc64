package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

var locationTicketRE = regexp.MustCompile(`^/tickets/(\d+)\?msg=`)

func TestPageChatWithoutAgent(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	jane := newBrowserless(t, f.e)
	csrf := jane.signIn("jane", f.jane.Password)

	page := jane.get("/chat")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "No agent is online — your message will become a ticket.") {
		t.Fatalf("/chat: %d\n%s", page.Status, page.Body)
	}
	if strings.Contains(page.Body, "data-chat-launcher") {
		t.Error("the chat page also has the launcher")
	}
	// Nobody online: the message becomes a ticket, and the user lands on it.
	r := jane.post("/chat", url.Values{"csrf_token": {csrf}, "body": {"The VPN drops every hour"}})
	m := locationTicketRE.FindStringSubmatch(r.location())
	if r.Status != http.StatusSeeOther || m == nil || !strings.HasSuffix(r.location(), "msg=chat_offline") {
		t.Fatalf("offline message: %d %q", r.Status, r.location())
	}
	tp := jane.get(r.location()).Body
	chats, err := f.e.Svc.Chats(context.Background(), f.jane.User, "closed")
	if err != nil || len(chats) != 1 {
		t.Fatalf("chats %v %v", chats, err)
	}
	cid := chats[0].ID
	for _, want := range []string{"No agent was online, so your chat became this ticket.", "Chat: The VPN drops every hour",
		fmt.Sprintf(`href="/chats/%d" data-testid="chat-link"`, cid), fmt.Sprintf("chat-%d-transcript.txt", cid)} {
		if !strings.Contains(tp, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	// The chat page lists it; its transcript is readable by its user only.
	if page := jane.get("/chat").Body; !strings.Contains(page, fmt.Sprintf(`<a href="/tickets/%s">ticket #%s</a>`, m[1], m[1])) {
		t.Errorf("earlier chats lack the ticket:\n%s", page)
	}
	if r := jane.get(fmt.Sprintf("/chats/%d", cid)); r.Status != 200 || !strings.Contains(r.Body, "The VPN drops every hour") {
		t.Errorf("transcript: %d", r.Status)
	}
	bob := newBrowserless(t, f.e)
	bob.signIn("bob", f.bob.Password)
	if r := bob.get(fmt.Sprintf("/chats/%d", cid)); r.Status != http.StatusNotFound || strings.Contains(r.Body, "VPN") {
		t.Errorf("another user's chat: %d", r.Status)
	}
	root := newBrowserless(t, f.e)
	root.signIn("root", f.root.Password)
	if r := root.get(fmt.Sprintf("/chats/%d", cid)); r.Status != http.StatusSeeOther || r.location() != fmt.Sprintf("/admin/chats/%d", cid) {
		t.Errorf("admin on /chats/%d: %d %q", cid, r.Status, r.location())
	}
}

func TestPageChatWithAgent(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	ctx := context.Background()
	// An admin connected to the event stream is an agent online.
	s := f.e.Stream(t, "/api/events", f.root.Access)
	if ev := s.Next(t); ev.Name != "presence" {
		t.Fatalf("first event %q", ev.Name)
	}
	jane, root, bob := newBrowserless(t, f.e), newBrowserless(t, f.e), newBrowserless(t, f.e)
	jcsrf, rcsrf, bcsrf := jane.signIn("jane", f.jane.Password), root.signIn("root", f.root.Password), bob.signIn("bob", f.bob.Password)
	if page := jane.get("/chat").Body; !strings.Contains(page, "An agent is online.") {
		t.Fatal("the chat page does not show the agent")
	}

	// A blank message comes back with the error; a real one starts the chat.
	if r := jane.post("/chat", url.Values{"csrf_token": {jcsrf}, "body": {"  "}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="chat-body-error"`) {
		t.Fatalf("blank message: %d", r.Status)
	}
	r := jane.post("/chat", url.Values{"csrf_token": {jcsrf}, "body": {"Hello <script>alert(1)</script>"}})
	if r.Status != http.StatusSeeOther || !regexp.MustCompile(`^/chat#chat-msg-\d+$`).MatchString(r.location()) {
		t.Fatalf("message: %d %q", r.Status, r.location())
	}
	c, _, err := f.e.Svc.MyChat(ctx, f.jane.User)
	if err != nil || c == nil {
		t.Fatalf("no open chat: %v", err)
	}
	inbox := fmt.Sprintf("/admin/chats/%d", c.ID)
	if page := jane.get("/chat").Body; !strings.Contains(page, "Hello &lt;script&gt;") || strings.Contains(page, "<script>alert") ||
		!strings.Contains(page, fmt.Sprintf(`action="/chats/%d/close"`, c.ID)) {
		t.Fatalf("chat page:\n%s", page)
	}

	// The inbox: the chat in the list, the conversation beside it.
	page := root.get("/admin/chats").Body
	if !strings.Contains(page, fmt.Sprintf(`href="/admin/chats/%d"`, c.ID)) || !strings.Contains(page, "jane") || !strings.Contains(page, "Choose a chat") {
		t.Fatalf("inbox:\n%s", page)
	}
	page = root.get(inbox).Body
	if !strings.Contains(page, `aria-current="page"`) || !strings.Contains(page, "Hello &lt;script&gt;") || !strings.Contains(page, "Turn into ticket") {
		t.Fatalf("inbox conversation:\n%s", page)
	}
	if strings.Contains(page, "style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("inline style or event handler in the inbox")
	}
	for action, ok := range postForms(page) {
		if !ok {
			t.Errorf("inbox form %q lacks a leading CSRF token", action)
		}
	}
	if r := root.post(inbox+"/messages", url.Values{"csrf_token": {rcsrf}, "body": {""}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="chat-reply-error"`) {
		t.Errorf("blank answer: %d", r.Status)
	}
	if r := root.post(inbox+"/messages", url.Values{"csrf_token": {rcsrf}, "body": {"Hi jane, how can I help?"}}); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), inbox+"#chat-msg-") {
		t.Fatalf("answer: %d %q", r.Status, r.location())
	}
	if page := jane.get("/chat").Body; !strings.Contains(page, "Hi jane, how can I help?") || !strings.Contains(page, "chat-msg-agent") {
		t.Fatal("the user does not see the answer")
	}

	// Users may not use the inbox, nor touch someone else's chat; forged
	// forms are refused. Nothing changes.
	for _, tc := range []struct {
		name string
		b    *browserless
		path string
		form url.Values
		want int
	}{
		{"user answers as agent", jane, inbox + "/messages", url.Values{"csrf_token": {jcsrf}, "body": {"x"}}, http.StatusForbidden},
		{"user converts", jane, inbox + "/ticket", url.Values{"csrf_token": {jcsrf}}, http.StatusForbidden},
		{"stranger closes", bob, fmt.Sprintf("/chats/%d/close", c.ID), url.Values{"csrf_token": {bcsrf}}, http.StatusNotFound},
		{"forged message", jane, "/chat", url.Values{"csrf_token": {"forged"}, "body": {"x"}}, http.StatusForbidden},
		{"no token", jane, "/chat", url.Values{"body": {"x"}}, http.StatusForbidden},
		{"forged answer", root, inbox + "/messages", url.Values{"csrf_token": {jcsrf}, "body": {"x"}}, http.StatusForbidden},
		{"forged convert", root, inbox + "/ticket", url.Values{"csrf_token": {"forged"}}, http.StatusForbidden},
		{"forged close", root, fmt.Sprintf("/chats/%d/close", c.ID), url.Values{}, http.StatusForbidden},
	} {
		if r := tc.b.post(tc.path, tc.form); r.Status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.want)
		}
	}
	if r := jane.get("/admin/chats"); r.Status != http.StatusForbidden {
		t.Errorf("user on the inbox: %d", r.Status)
	}
	if r := root.get("/admin/chats/999999"); r.Status != http.StatusNotFound {
		t.Errorf("unknown chat: %d", r.Status)
	}
	if _, msgs, _ := f.e.Svc.Chat(ctx, f.root.User, c.ID, 0); len(msgs) != 2 {
		t.Errorf("%d messages after refused posts", len(msgs))
	}

	// Turn into ticket: a bad category comes back; then the ticket, owned
	// by the user and linked both ways; only once.
	r = root.post(inbox+"/ticket", url.Values{"csrf_token": {rcsrf}, "title": {"Greeting"}, "category": {"Nope"}, "priority": {"High"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `value="Greeting"`) || !strings.Contains(r.Body, "<details class=\"convert\" data-chat-convert open>") {
		t.Fatalf("bad convert: %d\n%s", r.Status, r.Body)
	}
	r = root.post(inbox+"/ticket", url.Values{"csrf_token": {rcsrf}, "title": {"Greeting"}, "category": {"Product"}, "priority": {"High"}})
	m := locationTicketRE.FindStringSubmatch(r.location())
	if r.Status != http.StatusSeeOther || m == nil || !strings.HasSuffix(r.location(), "?msg=converted") {
		t.Fatalf("convert: %d %q", r.Status, r.location())
	}
	tp := root.get(r.location()).Body
	if !strings.Contains(tp, "The chat became this ticket") || !strings.Contains(tp, fmt.Sprintf(`href="%s" data-testid="chat-link"`, inbox)) {
		t.Errorf("converted ticket page:\n%s", tp)
	}
	if page := jane.get("/tickets/" + m[1]).Body; !strings.Contains(page, "Greeting") || !strings.Contains(page, fmt.Sprintf(`href="/chats/%d"`, c.ID)) {
		t.Error("the user's ticket does not link to the chat")
	}
	page = root.get(inbox).Body
	if !strings.Contains(page, fmt.Sprintf(`<a href="/tickets/%s" data-testid="chat-ticket-link">ticket #%s</a>`, m[1], m[1])) ||
		strings.Contains(page, `action="`+inbox+`/messages"`) || strings.Contains(page, "Turn into ticket") {
		t.Errorf("inbox after converting:\n%s", page)
	}
	if r := root.post(inbox+"/ticket", url.Values{"csrf_token": {rcsrf}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "already ticket #"+m[1]) {
		t.Errorf("second convert: %d", r.Status)
	}
	if r := root.post(inbox+"/messages", url.Values{"csrf_token": {rcsrf}, "body": {"late"}}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "ended") {
		t.Errorf("answer to a closed chat: %d", r.Status)
	}

	// The user starts another chat and ends it themselves.
	jane.post("/chat", url.Values{"csrf_token": {jcsrf}, "body": {"One more thing"}})
	c2, _, err := f.e.Svc.MyChat(ctx, f.jane.User)
	if err != nil || c2 == nil || c2.ID == c.ID {
		t.Fatalf("second chat: %+v %v", c2, err)
	}
	r = jane.post(fmt.Sprintf("/chats/%d/close", c2.ID), url.Values{"csrf_token": {jcsrf}})
	if r.Status != http.StatusSeeOther || r.location() != "/chat?msg=chat_closed" {
		t.Fatalf("close: %d %q", r.Status, r.location())
	}
	if page := jane.get(r.location()).Body; !strings.Contains(page, "The chat was closed.") || strings.Contains(page, "/close\"") {
		t.Error("the chat page after closing")
	}
	if got, _, _ := f.e.Svc.Chat(ctx, f.root.User, c2.ID, 0); got.Status != desk.ChatClosed {
		t.Errorf("chat is %s", got.Status)
	}

	// An agent closes a chat from the inbox.
	jane.post("/chat", url.Values{"csrf_token": {jcsrf}, "body": {"Last question"}})
	c3, _, err := f.e.Svc.MyChat(ctx, f.jane.User)
	if err != nil || c3 == nil {
		t.Fatalf("third chat: %v", err)
	}
	r = root.post(fmt.Sprintf("/chats/%d/close", c3.ID), url.Values{"csrf_token": {rcsrf}})
	if want := fmt.Sprintf("/admin/chats/%d?msg=chat_closed", c3.ID); r.Status != http.StatusSeeOther || r.location() != want {
		t.Fatalf("agent closes: %d %q", r.Status, r.location())
	}
	page = root.get(r.location()).Body
	if !strings.Contains(page, "The chat was closed.") || !strings.Contains(page, "This chat has ended.") || !strings.Contains(page, "Turn into ticket") {
		t.Errorf("inbox after closing:\n%s", page)
	}
	if r := root.post(fmt.Sprintf("/chats/%d/close", c3.ID), url.Values{"csrf_token": {rcsrf}}); r.Status != http.StatusConflict {
		t.Errorf("closing twice: %d", r.Status)
	}
}
