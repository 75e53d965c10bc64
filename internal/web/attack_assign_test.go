package web_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// TestMassAssignment sends server-owned fields (role, activation, owner,
// status, ids, timestamps, authorship) in every body that creates or
// changes something, as JSON, urlencoded, multipart and page forms, and
// checks in the database that none of them took effect.
func TestMassAssignment(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			testMassAssignment(t, webtest.New(t, eng.Open(t), webtest.Options{}))
		})
	}
}

func testMassAssignment(t *testing.T, e *webtest.Env) {
	ctx := context.Background()
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	bob := e.CreateUser(t, "bob", desk.RoleUser)
	bobTicket := ticketID(t, e, bob.Access, "Bob's")
	start := e.Clock.Now()
	e.Clock.Advance(time.Hour) // so that a smuggled timestamp would show
	for _, u := range []*webtest.User{jane, root, bob} {
		e.Login(t, u)
	}

	// New accounts: always an active user with a fresh id.
	wantUser := func(t *testing.T, login string) {
		t.Helper()
		u, err := e.DB.UserByLogin(ctx, login)
		if err != nil || u.Role != desk.RoleUser || !u.Active || u.ID == 999 || u.TokenVersion != 0 || !u.DateJoined.Equal(e.Clock.Now()) {
			t.Fatalf("%s registered as %+v (%v)", login, u, err)
		}
	}
	smuggled := map[string]any{"role": "admin", "is_staff": true, "is_superuser": true, "is_active": false, "id": 999,
		"date_joined": "2001-01-01T00:00:00Z", "token_version": 7, "password_hash": "x"}
	reg := func(name string) map[string]any {
		b := map[string]any{"email": name + "@example.com", "username": name, "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}
		for k, v := range smuggled {
			b[k] = v
		}
		return b
	}
	if r := e.Do(t, "POST", "/api/auth/register", reg("jsonreg"), ""); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	wantUser(t, "jsonreg")
	form := url.Values{"email": {"formreg@example.com"}, "username": {"formreg"}, "password": {"Nouveau123!@#"}, "password2": {"Nouveau123!@#"},
		"role": {"admin"}, "is_active": {"false"}, "id": {"999"}}
	if r := e.Do(t, "POST", "/api/auth/register", form.Encode(), "", "Content-Type", "application/x-www-form-urlencoded"); r.Status != 201 {
		t.Fatalf("form register: %d %s", r.Status, r.Body)
	}
	wantUser(t, "formreg")
	b := newBrowserless(t, e)
	form = url.Values{"csrf_token": {b.get("/register").token(t)}, "email": {"pagereg@example.com"}, "username": {"pagereg"},
		"password": {"Correct-Horse-42"}, "password2": {"Correct-Horse-42"}, "role": {"admin"}, "is_active": {"false"}}
	if r := b.post("/register", form); r.Status != 303 {
		t.Fatalf("page register: %d", r.Status)
	}
	wantUser(t, "pagereg")

	// New tickets: New, owned by the caller, created now, no assignee, chat
	// or borrowed attachment.
	bobAtt := int64(0)
	if tk, _ := e.DB.TicketByID(ctx, bobTicket); tk != nil && len(tk.Attachments) > 0 {
		bobAtt = tk.Attachments[0].ID
	}
	wantTicket := func(t *testing.T, id int64) {
		t.Helper()
		tk, err := e.DB.TicketByID(ctx, id)
		if err != nil || tk.Status != desk.StatusNew || tk.CreatedBy.ID != jane.ID || tk.Assignee != nil || tk.ChatID != 0 ||
			len(tk.Attachments) != 0 || !tk.CreatedAt.Equal(e.Clock.Now()) || id == 777 {
			t.Fatalf("ticket %d stored as %+v (%v)", id, tk, err)
		}
		if h, _ := e.DB.StatusHistory(ctx, id); len(h) != 1 || h[0].By.ID != jane.ID {
			t.Fatalf("history %+v", h)
		}
	}
	ticket := map[string]any{"title": "Mine", "description": "d", "category": "Technical", "status": "Resolved", "id": 777,
		"created_by": root.ID, "owner": bob.ID, "assignee": root.ID, "created_at": start, "chat_id": 1, "attachments": []int64{bobAtt}}
	r := e.Do(t, "POST", "/api/tickets", ticket, jane.Access)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	wantTicket(t, int64(r.JSON["id"].(float64)))
	ticket["created_by"] = map[string]any{"id": root.ID, "username": "root"}
	if r = e.Do(t, "POST", "/api/tickets", ticket, jane.Access); r.Status != 201 && r.Status != 400 {
		t.Fatalf("create with an object owner: %d %s", r.Status, r.Body)
	} else if r.Status == 201 {
		wantTicket(t, int64(r.JSON["id"].(float64)))
	}
	m := ticketForm("Multipart").Field("status", "Resolved").Field("created_by", itoa(root.ID)).Field("id", "777").Close()
	if r = e.Do(t, "POST", "/api/tickets", m, jane.Access); r.Status != 201 {
		t.Fatalf("multipart create: %d %s", r.Status, r.Body)
	}
	wantTicket(t, int64(r.JSON["id"].(float64)))
	jb := newBrowserless(t, e)
	csrf := jb.signIn("jane", jane.Password)
	pr := jb.postMultipart("/tickets/new", "csrf_token", csrf, "title", "Page", "category", "Product", "description", "d",
		"status", "Resolved", "created_by", itoa(root.ID), "priority", "Low")
	if pr.Status != 303 {
		t.Fatalf("page create: %d", pr.Status)
	}
	var pageID int64
	if _, err := sscanID(pr.location(), &pageID); err != nil {
		t.Fatalf("location %q", pr.location())
	}
	wantTicket(t, pageID)

	// Replies and chat lines: authored by the caller, on the ticket of the
	// path, public unless an admin says otherwise.
	r = e.Do(t, "POST", "/api/tickets/"+itoa(pageID)+"/comments", map[string]any{"body": "hi", "author": root.ID, "author_id": root.ID,
		"ticket_id": bobTicket, "id": 5000, "created_at": start}, jane.Access)
	if r.Status != 201 {
		t.Fatalf("comment: %d %s", r.Status, r.Body)
	}
	cs, _ := e.DB.Comments(ctx, store.CommentFilter{TicketID: pageID, IncludeInternal: true})
	if len(cs) != 1 || cs[0].Author.ID != jane.ID || cs[0].Internal || cs[0].ID == 5000 || !cs[0].CreatedAt.Equal(e.Clock.Now()) {
		t.Fatalf("comment stored as %+v", cs)
	}
	if other, _ := e.DB.Comments(ctx, store.CommentFilter{TicketID: bobTicket, IncludeInternal: true}); len(other) != 0 {
		t.Fatalf("the reply landed on bob's ticket: %+v", other)
	}
	r = e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "hello", "from_agent": true, "user_id": bob.ID, "chat_id": 1}, jane.Access)
	if r.Status != 201 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	chat := int64(r.JSON["chat"].(map[string]any)["id"].(float64))
	msgs, _ := e.DB.ChatMessages(ctx, chat, 0)
	if len(msgs) != 1 || msgs[0].FromAgent || msgs[0].Author.ID != jane.ID {
		t.Fatalf("chat message stored as %+v", msgs)
	}
	if c, _ := e.DB.ChatByID(ctx, chat); c.User.ID != jane.ID {
		t.Fatalf("chat of %+v", c.User)
	}

	// An admin's status change is recorded as theirs.
	if r = e.Do(t, "PATCH", "/api/tickets/"+itoa(pageID)+"/status", map[string]any{"status": "Under Review", "changed_by": jane.ID,
		"changed_at": start, "from_status": "Resolved"}, root.Access); r.Status != 200 {
		t.Fatalf("status: %d %s", r.Status, r.Body)
	}
	if h, _ := e.DB.StatusHistory(ctx, pageID); len(h) != 2 || h[1].By.ID != root.ID || h[1].From != desk.StatusNew || !h[1].At.Equal(e.Clock.Now()) {
		t.Fatalf("history %+v", h)
	}

	// User updates change role and activation only, never identity or
	// credentials.
	body := map[string]any{"role": "user", "email": "root@evil.example", "username": "mallory", "password": "Hijacked-123!",
		"id": 1, "date_joined": start, "token_version": 0, "password_hash": "x"}
	for _, target := range []*webtest.User{jane, bob} {
		if r = e.Do(t, "PATCH", "/api/users/"+itoa(target.ID), body, root.Access); r.Status != 200 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		u, _ := e.DB.UserByID(ctx, target.ID)
		if u.Email != target.Email || u.Username != target.Username || u.PasswordHash != target.PasswordHash || !u.DateJoined.Equal(target.DateJoined) {
			t.Fatalf("user became %+v", u)
		}
	}
	rb := newBrowserless(t, e)
	rcsrf := rb.signIn("root", root.Password)
	if r := rb.post("/admin/users/"+itoa(bob.ID), url.Values{"csrf_token": {rcsrf}, "active": {"true"}, "email": {"x@evil.example"},
		"username": {"mallory"}, "password": {"Hijacked-123!"}}); r.Status != 303 {
		t.Fatalf("page update: %d", r.Status)
	}
	if u, _ := e.DB.UserByID(ctx, bob.ID); u.Email != bob.Email || u.Username != "bob" || u.PasswordHash != bob.PasswordHash {
		t.Fatalf("bob became %+v", u)
	}
	e.Login(t, bob) // his password still works
}

// sscanID reads the ticket id out of a /tickets/{id}?… location.
func sscanID(loc string, id *int64) (int, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return 0, err
	}
	return fmt.Sscanf(u.Path, "/tickets/%d", id)
}
