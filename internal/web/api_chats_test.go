package web_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// TestLiveChat is a user and an agent chatting over HTTP, each watching
// their own event stream.
func TestLiveChat(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := webtest.New(t, eng.Open(t), webtest.Options{})
			user := e.CreateUser(t, "jane", desk.RoleUser)
			other := e.CreateUser(t, "bob", desk.RoleUser)
			agent := e.CreateUser(t, "root", desk.RoleAdmin)

			userStream := e.Stream(t, "/api/events", user.Access)
			userStream.Next(t)
			otherStream := e.Stream(t, "/api/events", other.Access)
			otherStream.Next(t)
			agentStream := e.Stream(t, "/api/events", agent.Access)
			if ev := agentStream.Next(t); ev.Name != "presence" {
				t.Fatal(ev.Name)
			}
			// The agent is now online for the user.
			if ev := userStream.NextOf(t, "presence"); ev.Data["agents_online"] != 1.0 {
				t.Fatalf("presence: %s", ev.Raw)
			}
			if r := e.Do(t, "GET", "/api/chat", nil, user.Access); r.JSON["chat"] != nil || r.JSON["agents_online"] != 1.0 {
				t.Fatalf("no chat yet: %s", r.Body)
			}

			r := e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "My printer is on fire"}, user.Access)
			if r.Status != 201 || r.JSON["offline"] != false || r.JSON["ticket"] != nil {
				t.Fatalf("first message: %d %s", r.Status, r.Body)
			}
			chat := int64(r.JSON["chat"].(map[string]any)["id"].(float64))
			cpath := "/api/chats/" + strconv.FormatInt(chat, 10)
			if ev := agentStream.NextReal(t); ev.Name != "chat.started" || ev.Data["chat"].(map[string]any)["user"].(map[string]any)["username"] != "jane" {
				t.Fatalf("inbox: %s %s", ev.Name, ev.Raw)
			}
			if ev := agentStream.NextReal(t); ev.Name != "chat.message" || ev.Data["message"].(map[string]any)["body"] != "My printer is on fire" {
				t.Fatalf("agent got: %s %s", ev.Name, ev.Raw)
			}
			if r := e.Do(t, "GET", "/api/chats?status=open", nil, agent.Access); r.JSON["count"] != 1.0 {
				t.Fatalf("inbox list: %s", r.Body)
			}

			// Typing both ways; the agent answers.
			if r := e.Do(t, "POST", cpath+"/typing", nil, agent.Access); r.Status != 204 {
				t.Fatalf("typing: %d", r.Status)
			}
			if ev := userStream.NextOf(t, "chat.typing"); ev.Data["user"].(map[string]any)["username"] != "root" {
				t.Fatalf("typing: %s", ev.Raw)
			}
			e.Do(t, "POST", cpath+"/typing", nil, user.Access)
			agentStream.NextOf(t, "chat.typing") // its own, echoed to every agent
			if ev := agentStream.NextReal(t); ev.Name != "chat.typing" || ev.Data["user"].(map[string]any)["username"] != "jane" {
				t.Fatalf("agent saw %s %s", ev.Name, ev.Raw)
			}
			if r := e.Do(t, "POST", cpath+"/messages", map[string]any{"body": "Unplug it!"}, agent.Access); r.Status != 201 || r.JSON["message"].(map[string]any)["from_agent"] != true {
				t.Fatalf("answer: %d %s", r.Status, r.Body)
			}
			if ev := userStream.NextOf(t, "chat.message"); ev.Data["message"].(map[string]any)["body"] != "Unplug it!" {
				t.Fatalf("user got %s", ev.Raw)
			}
			e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "Done, thanks"}, user.Access)

			// Bob: not his chat, and none of its events reached him.
			for _, c := range []struct{ method, path string }{{"GET", cpath}, {"POST", cpath + "/messages"}, {"POST", cpath + "/typing"}, {"POST", cpath + "/close"}} {
				if r := e.Do(t, c.method, c.path, map[string]any{"body": "x"}, other.Access); r.Status != 404 {
					t.Errorf("bob %s %s: %d", c.method, c.path, r.Status)
				}
			}
			if s := e.Stream(t, cpath+"/events", other.Access); s.Status != 404 {
				t.Errorf("bob's chat stream: %d", s.Status)
			}
			if r := e.Do(t, "POST", cpath+"/ticket", nil, user.Access); r.Status != 403 {
				t.Errorf("user converts: %d", r.Status)
			}
			e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "bob's own question"}, other.Access)
			if ev := otherStream.NextReal(t); ev.Name != "chat.started" || ev.Data["chat"].(map[string]any)["user"].(map[string]any)["username"] != "bob" {
				t.Fatalf("bob saw %s %s", ev.Name, ev.Raw)
			}

			// The agent files the chat as a ticket: transcript attached, linked both ways.
			r = e.Do(t, "POST", cpath+"/ticket", map[string]any{"category": "Product", "priority": "High"}, agent.Access)
			if r.Status != 201 || r.JSON["created_by"].(map[string]any)["username"] != "jane" || r.JSON["chat_id"] != float64(chat) ||
				r.JSON["category"] != "Product" || r.JSON["title"] != "Chat: My printer is on fire" {
				t.Fatalf("convert: %d %s", r.Status, r.Body)
			}
			tid := int64(r.JSON["id"].(float64))
			att := r.JSON["attachments"].([]any)[0].(map[string]any)
			file := e.Do(t, "GET", strings.TrimPrefix(att["download_url"].(string), e.URL), nil, user.Access)
			if file.Status != 200 || !strings.Contains(string(file.Body), "root (support):\nUnplug it!") || !strings.Contains(file.Header.Get("Content-Disposition"), "transcript.txt") {
				t.Fatalf("transcript: %d %s", file.Status, file.Body)
			}
			if ev := userStream.NextOf(t, "chat.closed"); ev.Data["chat"].(map[string]any)["ticket_id"] != float64(tid) {
				t.Fatalf("closed: %s", ev.Raw)
			}
			if r := e.Do(t, "GET", cpath, nil, user.Access); r.JSON["chat"].(map[string]any)["ticket_id"] != float64(tid) || len(r.JSON["messages"].([]any)) != 3 {
				t.Fatalf("chat after: %s", r.Body)
			}
			if r := e.Do(t, "POST", cpath+"/ticket", nil, agent.Access); r.Status != 409 {
				t.Fatalf("second convert: %d", r.Status)
			}
			if r := e.Do(t, "POST", cpath+"/messages", map[string]any{"body": "x"}, user.Access); r.Status != 409 {
				t.Fatalf("message after close: %d", r.Status)
			}

			// The agent leaves: the user is told, and the next message becomes a ticket.
			agentStream.Close()
			if ev := userStream.NextOf(t, "presence"); ev.Data["agents_online"] != 0.0 {
				t.Fatalf("presence: %s", ev.Raw)
			}
			r = e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "Now the scanner too"}, user.Access)
			if r.Status != 201 || r.JSON["offline"] != true || r.JSON["ticket"] == nil || r.JSON["chat"].(map[string]any)["status"] != "closed" {
				t.Fatalf("offline message: %d %s", r.Status, r.Body)
			}
			if r.JSON["ticket"].(map[string]any)["created_by"].(map[string]any)["username"] != "jane" {
				t.Fatalf("offline ticket owner: %s", r.Body)
			}
			// Errors.
			if r := e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": " "}, user.Access); r.Status != 400 {
				t.Errorf("blank: %d", r.Status)
			}
			if r := e.Do(t, "POST", "/api/chats/9999/messages", map[string]any{"body": "x"}, agent.Access); r.Status != 404 {
				t.Errorf("missing chat: %d", r.Status)
			}
			if r := e.Do(t, "GET", "/api/chats?status=x", nil, agent.Access); r.Status != 400 {
				t.Errorf("bad status: %d", r.Status)
			}
			if r := e.Do(t, "GET", "/api/chat", nil, ""); r.Status != 401 {
				t.Errorf("anonymous: %d", r.Status)
			}
		})
	}
}

func sign(secret, body string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// The vector from INTEGRATIONS.md.
const (
	tawkSecret = "whsec-test-123"
	tawkBody   = `{"event":"chat:end","chatId":"abc-123","time":"2024-04-05T12:00:00.000Z","property":{"id":"58ca8453b8a7e060cd3b1ecb","name":"Helpdesk"},"visitor":{"name":"Jane Doe","email":"jane.doe@example.com","city":"Paris","country":"FR"}}`
	tawkSig    = "f3afbfaeb23129bbcc3d0e2b6d6444821924a62c"
)

func TestTawkWebhook(t *testing.T) {
	t.Parallel()
	if sign(tawkSecret, tawkBody) != tawkSig {
		t.Fatal("test vector does not match")
	}
	e := env(t, webtest.Options{Web: web.Config{TawkWebhookSecret: tawkSecret}})
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	jane := e.CreateUser(t, "jane.doe", desk.RoleUser) // email jane.doe@example.com
	path := "/api/integrations/tawk"
	hook := func(body, sig, id string) *webtest.Response {
		return e.Do(t, "POST", path, body, "", "Content-Type", "application/json", "X-Tawk-Signature", sig, "X-Hook-Event-Id", id)
	}
	tests := []struct {
		name, body, sig, id string
		status              int
	}{
		{"no signature", tawkBody, "", "e1", 401},
		{"wrong signature", tawkBody, sign("other-secret", tawkBody), "e1", 401},
		{"not hex", tawkBody, "zz", "e1", 401},
		{"tampered body", strings.Replace(tawkBody, "Paris", "Lyon", 1), tawkSig, "e1", 401},
		{"no event id", tawkBody, tawkSig, "", 400},
		{"other event", `{"event":"chat:start","chatId":"x"}`, sign(tawkSecret, `{"event":"chat:start","chatId":"x"}`), "e0", 202},
		{"not json", `nope`, sign(tawkSecret, `nope`), "e9", 400},
		{"valid", tawkBody, tawkSig, "e1", 201},
		{"redelivery", tawkBody, tawkSig, "e1", 200},
		{"upper-case signature", tawkBody, strings.ToUpper(tawkSig), "e1", 200},
	}
	for _, tt := range tests {
		if r := hook(tt.body, tt.sig, tt.id); r.Status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
		}
	}
	list := e.Do(t, "GET", "/api/tickets", nil, jane.Access)
	if list.JSON["count"] != 1.0 {
		t.Fatalf("jane's tickets: %s", list.Body)
	}
	tk := list.JSON["results"].([]any)[0].(map[string]any)
	if tk["title"] != "Tawk.to chat with Jane Doe" || !strings.Contains(tk["description"].(string), "Paris, FR") || len(tk["attachments"].([]any)) != 1 {
		t.Fatalf("ticket: %v", tk)
	}
	// A transcript event about the same chat is the same ticket.
	tb := strings.Replace(tawkBody, "chat:end", "chat:transcript_created", 1)
	if r := hook(tb, sign(tawkSecret, tb), "e2"); r.Status != 200 {
		t.Fatalf("transcript event: %d", r.Status)
	}
	big := `{"event":"chat:end","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	if r := hook(big, sign(tawkSecret, big), "e3"); r.Status != 413 {
		t.Fatalf("oversize: %d", r.Status)
	}
	if r := e.Do(t, "GET", "/api/tickets", nil, admin.Access); r.JSON["count"] != 1.0 {
		t.Fatalf("admin sees %v tickets", r.JSON["count"])
	}
	// Disabled without a secret.
	off := env(t)
	if r := off.Do(t, "POST", path, tawkBody, "", "X-Tawk-Signature", tawkSig, "X-Hook-Event-Id", "e1"); r.Status != 404 {
		t.Fatalf("disabled: %d", r.Status)
	}
}
