package app_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// recorder is a Publisher that checks, at publish time, that the change
// it is told about is already committed (readable through the store).
type recorder struct {
	mu     sync.Mutex
	db     *store.DB
	events []desk.Event
	errs   []string
}

func (r *recorder) Publish(ctx context.Context, e desk.Event) {
	var err error
	switch {
	case e.Comment != nil:
		_, err = r.db.CommentByID(ctx, e.Comment.ID)
	case e.Message != nil:
		var msgs []desk.ChatMessage
		msgs, err = r.db.ChatMessages(ctx, e.ChatID, e.Message.ID-1)
		if err == nil && len(msgs) == 0 {
			err = desk.ErrNotFound
		}
	case e.Ticket != nil:
		var t *desk.Ticket
		t, err = r.db.TicketByID(ctx, e.TicketID)
		if err == nil && t.Status != e.Ticket.Status {
			err = desk.Errorf(desk.KindConflict, "status %s not committed", e.Ticket.Status)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, string(e.Kind)+": "+err.Error())
	}
	r.events = append(r.events, e)
}

func (r *recorder) take() []desk.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

type presence struct {
	mu  sync.Mutex
	ids []int64
}

func (p *presence) AgentsOnline() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids
}

func (p *presence) set(ids ...int64) {
	p.mu.Lock()
	p.ids = ids
	p.mu.Unlock()
}

type env struct {
	svc                           *app.Service
	db                            *store.DB
	rec                           *recorder
	agent                         *presence
	owner, other, admin, inactive *desk.User
}

func newEnv(t *testing.T, db *store.DB, cfg app.Config) *env {
	t.Helper()
	return newEnvWith(t, db, cfg, nil)
}

// newEnvWith is newEnv with a mail sender (nil: mails are logged).
func newEnvWith(t *testing.T, db *store.DB, cfg app.Config, sender app.Sender) *env {
	t.Helper()
	blobs, err := blob.NewDisk(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := auth.NewIssuer([]byte(strings.Repeat("k", 32)), time.Minute, time.Now)
	rec, agents := &recorder{db: db}, &presence{}
	svc, err := app.New(cfg, app.Deps{Store: db, Blobs: blobs, Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2),
		Issuer: issuer, Events: rec, Presence: agents, Mail: sender})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{svc: svc, db: db, rec: rec, agent: agents}
	mk := func(name string, role desk.Role, active bool) *desk.User {
		u := &desk.User{Email: name + "@example.com", Username: name, PasswordHash: "x", Role: role, Active: active, DateJoined: time.Now()}
		if err := db.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	e.owner, e.other, e.admin, e.inactive = mk("owner", desk.RoleUser, true), mk("other", desk.RoleUser, true),
		mk("admin", desk.RoleAdmin, true), mk("gone", desk.RoleUser, false)
	return e
}

func eachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, eng.Open(t))
		})
	}
}

func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	return desk.ErrorKind(err).String()
}

// TestConversationRules runs every actor through every conversation use
// case and checks both the answer and what was published.
func TestConversationRules(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, app.Config{})
		tk, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "VPN", Description: "down", Category: "Technical"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ev := e.rec.take(); len(ev) != 1 || ev[0].Kind != desk.EventTicketCreated || ev[0].OwnerID != e.owner.ID {
			t.Fatalf("create published %+v", ev)
		}
		actors := map[string]*desk.User{"anonymous": nil, "owner": e.owner, "other": e.other, "admin": e.admin, "inactive": e.inactive}
		want := map[string]map[string]string{
			"anonymous": {"reply": "unauthenticated", "note": "unauthenticated", "list": "unauthenticated"},
			"owner":     {"reply": "ok", "note": "forbidden", "list": "ok"},
			"other":     {"reply": "not_found", "note": "not_found", "list": "not_found"},
			"admin":     {"reply": "ok", "note": "ok", "list": "ok"},
			"inactive":  {"reply": "unauthenticated", "note": "unauthenticated", "list": "unauthenticated"},
		}
		for name, u := range actors {
			_, err := e.svc.AddComment(ctx, u, tk.ID, app.NewComment{Body: "reply by " + name}, nil)
			if got := kindOf(err); got != want[name]["reply"] {
				t.Errorf("%s reply: %s", name, got)
			}
			_, err = e.svc.AddComment(ctx, u, tk.ID, app.NewComment{Body: "note by " + name, Internal: true}, nil)
			if got := kindOf(err); got != want[name]["note"] {
				t.Errorf("%s note: %s", name, got)
			}
			_, err = e.svc.Comments(ctx, u, tk.ID, 0)
			if got := kindOf(err); got != want[name]["list"] {
				t.Errorf("%s list: %s", name, got)
			}
		}
		ownerView, _ := e.svc.Comments(ctx, e.owner, tk.ID, 0)
		adminView, _ := e.svc.Comments(ctx, e.admin, tk.ID, 0)
		if len(ownerView) != 2 || len(adminView) != 3 {
			t.Fatalf("owner sees %d, admin %d comments", len(ownerView), len(adminView))
		}
		for _, c := range ownerView {
			if c.Internal {
				t.Fatal("owner sees a note")
			}
		}
		ev := e.rec.take()
		if len(ev) != 3 {
			t.Fatalf("published %d events, want 3 (failed attempts publish nothing)", len(ev))
		}
		for _, x := range ev {
			if x.Comment.Internal != (x.Audience == desk.AudienceAdmins) || desk.CanReceive(e.owner, &x) == x.Comment.Internal {
				t.Errorf("comment event audience wrong: %+v", x)
			}
		}
		if _, err := e.svc.AddComment(ctx, e.owner, tk.ID, app.NewComment{Body: "  "}, nil); !desk.IsKind(err, desk.KindInvalid) {
			t.Errorf("blank reply: %v", err)
		}
		if _, err := e.svc.AddComment(ctx, e.admin, 9999, app.NewComment{Body: "x"}, nil); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("missing ticket: %v", err)
		}
		// Status changes and access changes are published after commit.
		if _, _, err := e.svc.ChangeStatus(ctx, e.admin, tk.ID, "Resolved", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateUser(ctx, e.admin, e.other.ID, app.UserChange{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		ev = e.rec.take()
		if len(ev) != 2 || ev[0].Kind != desk.EventTicketUpdated || ev[0].Change.To != desk.StatusResolved ||
			ev[1].Kind != desk.EventUserAccess || ev[1].OwnerID != e.other.ID {
			t.Fatalf("events %+v", ev)
		}
		if len(e.rec.errs) > 0 {
			t.Fatalf("published before commit: %v", e.rec.errs)
		}
	})
}

func TestNoteAttachmentsStayPrivate(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, app.Config{})
		tk, _ := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "t", Description: "d", Category: "Product"}, nil)
		stage := func(u *desk.User) []app.Staged {
			f, err := e.svc.StageAttachment(ctx, u, "log.txt", strings.NewReader("some log\n"))
			if err != nil {
				t.Fatal(err)
			}
			return []app.Staged{f}
		}
		reply, err := e.svc.AddComment(ctx, e.owner, tk.ID, app.NewComment{Body: "log"}, stage(e.owner))
		if err != nil {
			t.Fatal(err)
		}
		note, err := e.svc.AddComment(ctx, e.admin, tk.ID, app.NewComment{Body: "ours", Internal: true}, stage(e.admin))
		if err != nil {
			t.Fatal(err)
		}
		open := func(u *desk.User, id int64) string {
			_, rc, err := e.svc.OpenAttachment(ctx, u, id)
			if err == nil {
				rc.Close()
			}
			return kindOf(err)
		}
		for _, c := range []struct {
			who  *desk.User
			att  int64
			want string
		}{
			{e.owner, reply.Attachments[0].ID, "ok"}, {e.admin, reply.Attachments[0].ID, "ok"}, {e.other, reply.Attachments[0].ID, "not_found"},
			{e.owner, note.Attachments[0].ID, "not_found"}, {e.admin, note.Attachments[0].ID, "ok"}, {e.other, note.Attachments[0].ID, "not_found"},
		} {
			if got := open(c.who, c.att); got != c.want {
				t.Errorf("%s opening attachment %d: %s, want %s", c.who.Username, c.att, got, c.want)
			}
		}
		// A refused note deletes its staged file.
		files := stage(e.owner)
		if _, err := e.svc.AddComment(ctx, e.owner, tk.ID, app.NewComment{Body: "x", Internal: true}, files); !desk.IsKind(err, desk.KindForbidden) {
			t.Fatal(err)
		}
		if keys, _ := db.StaleBlobIntents(ctx, time.Now().Add(time.Hour), 10); len(keys) != 0 {
			t.Fatalf("refused reply left %v", keys)
		}
	})
}

func TestChatRules(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, app.Config{})
		e.agent.set(e.admin.ID)
		post, err := e.svc.SendChatMessage(ctx, e.owner, 0, "my printer is on fire")
		if err != nil || post.Offline || post.Message.FromAgent {
			t.Fatalf("start: %+v %v", post, err)
		}
		chat := post.Chat.ID
		ev := e.rec.take()
		if len(ev) != 2 || ev[0].Kind != desk.EventChatStarted || ev[1].Kind != desk.EventChatMessage || ev[1].OwnerID != e.owner.ID {
			t.Fatalf("start events: %+v", ev)
		}
		again, _ := e.svc.SendChatMessage(ctx, e.owner, 0, "hello?")
		if again.Chat.ID != chat {
			t.Fatal("second message started another chat")
		}
		actors := map[string]*desk.User{"anonymous": nil, "owner": e.owner, "other": e.other, "admin": e.admin, "inactive": e.inactive}
		want := map[string]map[string]string{
			"anonymous": {"view": "unauthenticated", "post": "unauthenticated", "typing": "unauthenticated", "convert": "unauthenticated"},
			"owner":     {"view": "ok", "post": "ok", "typing": "ok", "convert": "forbidden"},
			"other":     {"view": "not_found", "post": "not_found", "typing": "not_found", "convert": "not_found"},
			"admin":     {"view": "ok", "post": "ok", "typing": "ok", "convert": "ok"},
			"inactive":  {"view": "unauthenticated", "post": "unauthenticated", "typing": "unauthenticated", "convert": "unauthenticated"},
		}
		for _, name := range []string{"anonymous", "owner", "other", "inactive", "admin"} {
			u := actors[name]
			_, _, err := e.svc.Chat(ctx, u, chat, 0)
			check := func(action string, err error) {
				if got := kindOf(err); got != want[name][action] {
					t.Errorf("%s %s: %s", name, action, got)
				}
			}
			check("view", err)
			p, err := e.svc.SendChatMessage(ctx, u, chat, "from "+name)
			check("post", err)
			if err == nil && p.Message.FromAgent != (name == "admin") {
				t.Errorf("%s: from_agent %v", name, p.Message.FromAgent)
			}
			check("typing", e.svc.ChatTyping(ctx, u, chat))
			_, err = e.svc.ConvertChat(ctx, u, chat, app.ChatTicket{})
			check("convert", err)
		}
		// Converted: linked both ways, closed, transcript attached, owned by the user.
		c, msgs, _ := e.svc.Chat(ctx, e.admin, chat, 0)
		if c.Status != desk.ChatClosed || c.TicketID == 0 || len(msgs) != 4 {
			t.Fatalf("converted chat: %+v, %d messages", c, len(msgs))
		}
		tk, err := e.svc.Ticket(ctx, e.owner, c.TicketID)
		if err != nil || tk.ChatID != chat || tk.Title != "Chat: my printer is on fire" || len(tk.Attachments) != 1 {
			t.Fatalf("ticket: %+v %v", tk, err)
		}
		a, rc, err := e.svc.OpenAttachment(ctx, e.owner, tk.Attachments[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if a.ContentType != "text/plain" || !strings.Contains(string(body), "admin (support):\nfrom admin") || !strings.Contains(string(body), "my printer is on fire") {
			t.Fatalf("transcript %s:\n%s", a.ContentType, body)
		}
		if _, err := e.svc.ConvertChat(ctx, e.admin, chat, app.ChatTicket{}); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("second convert: %v", err)
		}
		if _, err := e.svc.SendChatMessage(ctx, e.owner, chat, "still there?"); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("message to a closed chat: %v", err)
		}
		// Typing: the user's to admins only, the agent's to the user.
		var typing []desk.Event
		for _, x := range e.rec.take() {
			if x.Kind == desk.EventChatTyping {
				typing = append(typing, x)
			}
		}
		if len(typing) != 2 || desk.CanReceive(e.owner, &typing[0]) || !desk.CanReceive(e.admin, &typing[0]) || !desk.CanReceive(e.owner, &typing[1]) {
			t.Fatalf("typing events: %+v", typing)
		}
		// Lists: the inbox for admins, one's own for users.
		if l, _ := e.svc.Chats(ctx, e.admin, ""); len(l) != 1 {
			t.Errorf("inbox: %d", len(l))
		}
		if l, _ := e.svc.Chats(ctx, e.other, ""); len(l) != 0 {
			t.Errorf("other's chats: %d", len(l))
		}
		if _, err := e.svc.Chats(ctx, e.admin, "pending"); !desk.IsKind(err, desk.KindInvalid) {
			t.Errorf("bad status: %v", err)
		}
		if len(e.rec.errs) > 0 {
			t.Fatalf("published before commit: %v", e.rec.errs)
		}
	})
}

func TestChatWithNoAgentBecomesTicket(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, app.Config{})
		e.agent.set(e.owner.ID) // only the writer themself: no agent for them
		post, err := e.svc.SendChatMessage(ctx, e.owner, 0, "Laptop will not boot\nsince this morning")
		if err != nil || !post.Offline || post.Ticket == nil || post.Ticket.CreatedBy.ID != e.owner.ID || post.Ticket.ChatID != post.Chat.ID {
			t.Fatalf("offline post: %+v %v", post, err)
		}
		if !strings.Contains(post.Ticket.Description, "since this morning") || post.Ticket.Title != "Chat: Laptop will not boot" {
			t.Fatalf("ticket text: %q / %q", post.Ticket.Title, post.Ticket.Description)
		}
		var kinds []desk.EventKind
		for _, x := range e.rec.take() {
			kinds = append(kinds, x.Kind)
		}
		if strings.Join(toStrings(kinds), ",") != "chat.started,chat.message,ticket.created,chat.closed" {
			t.Fatalf("events %v", kinds)
		}
		if c, _, _ := e.svc.MyChat(ctx, e.owner); c != nil {
			t.Fatal("chat still open")
		}
	})
}

func toStrings(k []desk.EventKind) []string {
	out := make([]string, len(k))
	for i, x := range k {
		out[i] = string(x)
	}
	return out
}

func TestTawkChatEnded(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, app.Config{})
		in := app.TawkChat{EventID: "ev-1", Event: "chat:end", ChatID: "abc-123", Visitor: app.TawkVisitor{Name: "Owner", Email: "OWNER@example.com"},
			Raw: []byte(`{"event":"chat:end","chatId":"abc-123"}`)}
		tk, created, err := e.svc.TawkChatEnded(ctx, in)
		if err != nil || !created || tk.CreatedBy.ID != e.owner.ID || len(tk.Attachments) != 1 || tk.Attachments[0].ContentType != "application/json" {
			t.Fatalf("first delivery: %+v %v %v", tk, created, err)
		}
		again, created, err := e.svc.TawkChatEnded(ctx, in)
		if err != nil || created || again.ID != tk.ID {
			t.Fatalf("redelivery: %v %v", created, err)
		}
		in.EventID = "ev-2" // transcript event of the same chat
		if again, created, _ = e.svc.TawkChatEnded(ctx, in); created || again.ID != tk.ID {
			t.Fatal("second event about the chat made a ticket")
		}
		// Unknown or inactive visitors: the built-in account.
		for i, email := range []string{"stranger@example.com", "gone@example.com", ""} {
			tk, created, err := e.svc.TawkChatEnded(ctx, app.TawkChat{EventID: "x" + email, ChatID: "c" + string(rune('0'+i)), Visitor: app.TawkVisitor{Email: email}, Raw: []byte(`{}`)})
			if err != nil || !created || tk.CreatedBy.Username != "tawk-visitor" {
				t.Fatalf("%q: %+v %v", email, tk, err)
			}
		}
		if u, err := db.UserByLogin(ctx, "tawk-visitor"); err != nil || u.Active {
			t.Fatalf("system account: %+v %v", u, err)
		}
		// A configured fallback.
		e2 := newEnv(t, storetest.SQLite(t), app.Config{TawkFallbackUser: "admin"})
		tk, _, err = e2.svc.TawkChatEnded(ctx, app.TawkChat{EventID: "y", Visitor: app.TawkVisitor{Email: "nobody@example.com"}, Raw: []byte(`{}`)})
		if err != nil || tk.CreatedBy.Username != "admin" {
			t.Fatalf("fallback: %+v %v", tk, err)
		}
		if _, _, err := e.svc.TawkChatEnded(ctx, app.TawkChat{Raw: []byte(`{}`)}); !desk.IsKind(err, desk.KindInvalid) {
			t.Fatalf("no event id: %v", err)
		}
		if keys, _ := db.StaleBlobIntents(ctx, time.Now().Add(time.Hour), 10); len(keys) != 0 {
			t.Fatalf("redeliveries left staged files: %v", keys)
		}
	})
}
