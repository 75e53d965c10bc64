package web_test

import (
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

func ticketID(t *testing.T, e *webtest.Env, token, title string) int64 {
	t.Helper()
	r := e.Do(t, "POST", "/api/tickets", map[string]any{"title": title, "description": "d", "category": "Technical"}, token)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	return int64(r.JSON["id"].(float64))
}

func TestEventStreams(t *testing.T) {
	t.Parallel()
	e := env(t)
	owner := e.CreateUser(t, "jane", desk.RoleUser)
	other := e.CreateUser(t, "bob", desk.RoleUser)
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	id := ticketID(t, e, owner.Access, "VPN")
	sid := strconv.FormatInt(id, 10)

	ownerAll := e.Stream(t, "/api/events", owner.Access)
	ownerTicket := e.Stream(t, "/api/tickets/"+sid+"/events", owner.Access)
	otherAll := e.Stream(t, "/api/events", other.Access)
	adminAll := e.Stream(t, "/api/events", admin.Access)
	for _, s := range []*webtest.Stream{ownerAll, ownerTicket, otherAll, adminAll} {
		if s.Status != 200 {
			t.Fatalf("stream status %d", s.Status)
		}
		if ev := s.Next(t); ev.Name != "presence" {
			t.Fatalf("first event %q", ev.Name)
		}
	}
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/api/tickets/" + sid + "/events", other.Access, 404},
		{"/api/tickets/9999/events", admin.Access, 404},
		{"/api/events", "", 401},
		{"/api/events", "garbage", 401},
	} {
		s := e.Stream(t, c.path, c.token)
		if s.Status != c.status {
			t.Errorf("GET %s: %d, want %d", c.path, s.Status, c.status)
		}
		s.Close()
	}

	// A note, then a reply, then a status change: the owner's streams skip
	// the note (the reply is the next thing they see).
	e.Do(t, "POST", "/api/tickets/"+sid+"/comments", map[string]any{"body": "secret note", "internal": true}, admin.Access)
	e.Do(t, "POST", "/api/tickets/"+sid+"/comments", map[string]any{"body": "public reply"}, admin.Access)
	e.Do(t, "PATCH", "/api/tickets/"+sid+"/status", map[string]any{"status": "Under Review"}, admin.Access)
	var firstID string
	for _, s := range []*webtest.Stream{ownerAll, ownerTicket} {
		ev := s.NextReal(t)
		if ev.Name != "comment.created" || strings.Contains(ev.Raw, "secret note") || ev.Data["comment"].(map[string]any)["body"] != "public reply" || ev.ID == "" {
			t.Fatalf("owner's first event: %s %s", ev.Name, ev.Raw)
		}
		firstID = ev.ID
		if ev = s.NextReal(t); ev.Name != "ticket.updated" || ev.Data["ticket"].(map[string]any)["status"] != "Under Review" ||
			ev.Data["change"].(map[string]any)["to_status"] != "Under Review" {
			t.Fatalf("status event: %s %s", ev.Name, ev.Raw)
		}
	}
	if ev := adminAll.NextOf(t, "comment.created"); ev.Data["comment"].(map[string]any)["internal"] != true {
		t.Fatalf("admin's first: %s", ev.Raw)
	}
	// Another user: their own new ticket is the next thing they see.
	bid := ticketID(t, e, other.Access, "Refund")
	if ev := otherAll.NextReal(t); ev.Name != "ticket.created" || ev.Data["ticket"].(map[string]any)["id"] != float64(bid) {
		t.Fatalf("other user's first event: %s %s", ev.Name, ev.Raw)
	}
	if ev := adminAll.NextOf(t, "ticket.created"); ev.Data["ticket"].(map[string]any)["id"] != float64(bid) {
		t.Fatalf("admin list event: %s", ev.Raw)
	}

	// Resume with Last-Event-ID: the missed status change is replayed;
	// an unknown id asks for a reload.
	resumed := e.Stream(t, "/api/events", owner.Access, "Last-Event-ID", firstID)
	resumed.Next(t) // presence
	if ev := resumed.NextReal(t); ev.Name != "ticket.updated" {
		t.Fatalf("resume: %s %s", ev.Name, ev.Raw)
	}
	stale := e.Stream(t, "/api/events", owner.Access, "Last-Event-ID", "0000-1")
	if ev := stale.Next(t); ev.Name != "reset" {
		t.Fatalf("stale id: %s", ev.Name)
	}

	// Deactivation ends the user's streams at once.
	if r := e.Do(t, "PATCH", "/api/users/"+strconv.FormatInt(owner.ID, 10), map[string]any{"is_active": false}, admin.Access); r.Status != 200 {
		t.Fatalf("deactivate: %d", r.Status)
	}
	for _, s := range []*webtest.Stream{ownerAll, ownerTicket, resumed, stale} {
		evs := s.Ended(t)
		if len(evs) == 0 || evs[len(evs)-1].Name != "bye" {
			t.Fatalf("no bye before the end: %+v", evs)
		}
	}
	if s := e.Stream(t, "/api/events", owner.Access); s.Status != 401 {
		t.Fatalf("deactivated user reconnected: %d", s.Status)
	}
	if e.Hub.Subscribers() != 2 {
		t.Fatalf("%d subscribers left, want bob's and root's", e.Hub.Subscribers())
	}
}

func TestStreamCookieAuth(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	_, ws, err := e.Svc.StartSession(t.Context(), appCreds(u), "test")
	if err != nil {
		t.Fatal(err)
	}
	s := e.Stream(t, "/api/events", "", "Cookie", "tf_session="+ws.Token)
	if s.Status != 200 || s.Next(t).Name != "presence" {
		t.Fatalf("cookie stream: %d", s.Status)
	}
}

func appCreds(u *webtest.User) app.Credentials {
	return app.Credentials{Login: u.Username, Password: u.Password, IP: "127.0.0.1"}
}
