package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var unsubRE = regexp.MustCompile(`/unsubscribe\?t=[0-9A-Za-z._%-]+`)

// TestUnsubscribeLink follows the link of a real (logged) mail without
// signing in: GET asks, POST (the page's button or a mail program's
// one-click request) turns the notice off.
func TestUnsubscribeLink(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	e := webtest.New(t, storetest.SQLite(t), webtest.Options{LogSink: logs, App: app.Config{MailAdminsNewTicket: true}})
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	ctx := context.Background()
	if _, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: "VPN", Description: "down", Category: "Technical"}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Svc.DeliverMail(ctx); err != nil || n != 1 {
		t.Fatalf("deliver: %d %v", n, err)
	}
	link := unsubRE.FindString(logs.String())
	if link == "" {
		t.Fatalf("no unsubscribe link in the logged mail:\n%s", logs)
	}
	anon := newBrowserless(t, e)
	page := anon.get(link)
	if page.Status != 200 || !strings.Contains(page.Body, "Stop emails to root about new tickets") || !strings.Contains(page.Body, `method="post"`) {
		t.Fatalf("confirm page: %d\n%s", page.Status, page.Body)
	}
	if p, _ := e.Svc.NotificationPrefs(ctx, root.User); !p[desk.NoticeNewTicket] {
		t.Fatal("GET alone unsubscribed")
	}
	if r := anon.get(link + "x"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "invalid or has expired") {
		t.Errorf("tampered link: %d", r.Status)
	}
	if r := anon.post("/unsubscribe?t=", url.Values{}); r.Status != http.StatusNotFound {
		t.Errorf("no token: %d", r.Status)
	}
	// RFC 8058 one-click: a POST with List-Unsubscribe=One-Click, no cookie, no CSRF token.
	done := anon.post(link, url.Values{"List-Unsubscribe": {"One-Click"}})
	if done.Status != 200 || !strings.Contains(done.Body, "root no longer receives emails about new tickets") {
		t.Fatalf("one-click: %d\n%s", done.Status, done.Body)
	}
	if p, _ := e.Svc.NotificationPrefs(ctx, root.User); p[desk.NoticeNewTicket] || !p[desk.NoticeChat] {
		t.Fatalf("prefs after unsubscribing: %v", p)
	}
	if again := anon.get(link); again.Status != 200 || !strings.Contains(again.Body, "no longer receives") {
		t.Errorf("link after use: %d", again.Status)
	}
}

func TestNotificationSettingsPage(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	ctx := context.Background()
	b := f.client(t, "user")
	page := b.get("/settings/notifications")
	if page.Status != 200 || !strings.Contains(page.Body, `name="ticket_reply" checked`) || strings.Contains(page.Body, "new_ticket") {
		t.Fatalf("settings page: %d\n%s", page.Status, page.Body)
	}
	tok := page.token(t)
	if r := b.post("/settings/notifications", url.Values{"ticket_status": {"on"}}); r.Status != http.StatusForbidden {
		t.Errorf("without CSRF token: %d", r.Status)
	}
	r := b.post("/settings/notifications", url.Values{"csrf_token": {tok}, "ticket_status": {"on"}})
	if r.Status != http.StatusSeeOther || r.location() != "/settings/notifications?msg=prefs" {
		t.Fatalf("save: %d %s", r.Status, r.location())
	}
	if p, _ := f.e.Svc.NotificationPrefs(ctx, f.jane.User); !p[desk.NoticeStatus] || p[desk.NoticeReply] {
		t.Fatalf("prefs: %v", p)
	}
	if page := b.get("/settings/notifications?msg=prefs"); !strings.Contains(page.Body, "were saved") || strings.Contains(page.Body, `name="ticket_reply" checked`) {
		t.Errorf("after saving:\n%s", page.Body)
	}
	if r := newBrowserless(t, f.e).get("/settings/notifications"); r.Status != http.StatusSeeOther {
		t.Errorf("anonymous: %d", r.Status)
	}
}

func TestOutboxPage(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	id := failedMail(t, f.e, f.root.ID)
	if r := f.client(t, "user").get("/admin/outbox"); r.Status != http.StatusForbidden {
		t.Errorf("user: %d", r.Status)
	}
	admin := f.client(t, "admin")
	page := admin.get("/admin/outbox")
	if page.Status != 200 || !strings.Contains(page.Body, "550 no such user") || !strings.Contains(page.Body, "/admin/outbox/"+itoa(id)+"/retry") {
		t.Fatalf("outbox page: %d\n%s", page.Status, page.Body)
	}
	r := admin.post("/admin/outbox/"+itoa(id)+"/retry", url.Values{"csrf_token": {page.token(t)}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	ms, _, _ := f.e.DB.Mails(context.Background(), store.MailFilter{Status: desk.MailPending})
	if len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("pending after retry: %+v", ms)
	}
}
