package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/mail/smtptest"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

const baseURL = "https://help.example.com"

// mailConfig retries fast so that the tests wait for conditions, not for
// the production backoff.
func mailConfig() app.Config {
	return app.Config{BaseURL: baseURL, URLKey: []byte(strings.Repeat("u", 32)), MailAdminsNewTicket: true, MailAdminsChat: true,
		Mailer: app.MailerConfig{RetryBase: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Poll: 10 * time.Millisecond, MaxAttempts: 1000}}
}

func smtpSender(t *testing.T, srv *smtptest.Server) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: mail.TLSNone, From: "TicketFlow <help@example.com>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mailService is a service on st whose mail goes to sender (nil: logged to
// log), for the tests that drive the outbox worker themselves.
func mailService(t testing.TB, st app.Store, cfg app.Config, sender app.Sender, log io.Writer) *app.Service {
	t.Helper()
	blobs, err := blob.NewDisk(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := auth.NewIssuer([]byte(strings.Repeat("k", 32)), time.Minute, time.Now)
	svc, err := app.New(cfg, app.Deps{Store: st, Blobs: blobs, Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2),
		Issuer: issuer, Log: slog.New(slog.NewTextHandler(log, nil)), Mail: sender})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// runMailer runs the outbox worker until the test ends.
func runMailer(t *testing.T, svc *app.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.RunMailer(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond until it holds; the deadline only catches hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func outbox(t testing.TB, db *store.DB, status desk.MailStatus) []desk.Mail {
	t.Helper()
	ms, _, err := db.Mails(context.Background(), store.MailFilter{Status: status, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// byRecipientAndSubject finds the one message to `to` whose subject has part.
func find(t *testing.T, msgs []smtptest.Message, to, part string) *smtptest.Parsed {
	t.Helper()
	var found *smtptest.Parsed
	for _, m := range msgs {
		if p := m.Parse(t); m.To[0] == to && strings.Contains(p.Subject, part) {
			if found != nil {
				t.Fatalf("two messages to %s about %q", to, part)
			}
			found = p
		}
	}
	if found == nil {
		t.Fatalf("no message to %s about %q", to, part)
	}
	return found
}

// TestMailNotifications walks through every notice against a real SMTP
// conversation and checks who gets what, and what it says.
func TestMailNotifications(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, smtptest.Options{})
		e := newEnvWith(t, db, mailConfig(), smtpSender(t, srv))
		runMailer(t, e.svc)

		tk, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: `VPN <b>down</b>`, Description: "Since <script>alert(1)</script> this morning", Category: "Technical"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(tk.ID, 10)
		if _, err := e.svc.AddComment(ctx, e.admin, tk.ID, app.NewComment{Body: "SECRET-NOTE: user is on the old client", Internal: true}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddComment(ctx, e.admin, tk.ID, app.NewComment{Body: "Try reconnecting & <i>restart</i>"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.ChangeStatus(ctx, e.admin, tk.ID, "Under Review", "Looking into it"); err != nil {
			t.Fatal(err)
		}
		// The owner's own reply notifies nobody (admins learn of replies in the app).
		if _, err := e.svc.AddComment(ctx, e.owner, tk.ID, app.NewComment{Body: "thanks"}, nil); err != nil {
			t.Fatal(err)
		}
		msgs := srv.WaitFor(t, 3)
		waitFor(t, "all mail sent", func() bool { return len(outbox(t, db, desk.MailSent)) == 3 })
		if all := outbox(t, db, ""); len(all) != 3 {
			t.Fatalf("outbox holds %d mails, want 3: %+v", len(all), all)
		}

		// Nothing anywhere mentions the internal note.
		for _, m := range srv.Messages() {
			if strings.Contains(string(m.Data), "SECRET") {
				t.Fatalf("an internal note was mailed:\n%s", m.Data)
			}
		}
		for _, m := range outbox(t, db, "") {
			if strings.Contains(string(m.Data), "SECRET") {
				t.Fatalf("an internal note is in the outbox: %s", m.Data)
			}
		}

		link := baseURL + "/tickets/" + id
		newTicket := find(t, msgs, e.admin.Email, "New ticket")
		reply := find(t, msgs, e.owner.Email, "replied")
		status := find(t, msgs, e.owner.Email, "now Under Review")
		for name, p := range map[string]*smtptest.Parsed{"new ticket": newTicket, "reply": reply, "status": status} {
			if p.Text == "" || p.HTML == "" {
				t.Errorf("%s: a part is missing: text %q html %q", name, p.Text, p.HTML)
			}
			for _, part := range []string{p.Text, p.HTML} {
				if !strings.Contains(part, link) || !strings.Contains(part, baseURL+"/unsubscribe?t=") {
					t.Errorf("%s: no ticket or unsubscribe link in\n%s", name, part)
				}
			}
			if strings.Contains(p.HTML, "<b>down") || strings.Contains(p.HTML, "<i>") || strings.Contains(p.HTML, "<script>") {
				t.Errorf("%s: user text not escaped in HTML:\n%s", name, p.HTML)
			}
			if !strings.HasPrefix(p.Header.Get("List-Unsubscribe"), "<"+baseURL+"/unsubscribe?t=") || p.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("%s: unsubscribe headers %v", name, p.Header)
			}
		}
		if !strings.Contains(newTicket.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(newTicket.Text, "<script>alert(1)</script>") ||
			!strings.Contains(newTicket.Subject, "VPN <b>down</b>") {
			t.Errorf("new ticket mail:\n%s\n%s\n%s", newTicket.Subject, newTicket.Text, newTicket.HTML)
		}
		if !strings.Contains(reply.Text, "Try reconnecting & <i>restart</i>") || !strings.Contains(reply.HTML, "Try reconnecting &amp; &lt;i&gt;restart&lt;/i&gt;") {
			t.Errorf("reply mail:\n%s\n%s", reply.Text, reply.HTML)
		}
		if !strings.Contains(status.Text, "from New to Under Review") || !strings.Contains(status.Text, "Looking into it") {
			t.Errorf("status mail:\n%s", status.Text)
		}

		// One click on the reply mail's unsubscribe link turns replies off,
		// without signing in; status mails still come.
		u, err := url.Parse(strings.Trim(reply.Header.Get("List-Unsubscribe"), "<>"))
		if err != nil {
			t.Fatal(err)
		}
		token := u.Query().Get("t")
		if _, err := e.svc.UnsubscribeLink(ctx, token[:len(token)-2]+"xx"); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("tampered token: %v", err)
		}
		sub, err := e.svc.UnsubscribeLink(ctx, token)
		if err != nil || sub.User.ID != e.owner.ID || sub.Notice != desk.NoticeReply || sub.Off {
			t.Fatalf("unsubscribe link: %+v %v", sub, err)
		}
		if sub, err := e.svc.Unsubscribe(ctx, token); err != nil || !sub.Off {
			t.Fatalf("unsubscribe: %+v %v", sub, err)
		}
		if _, err := e.svc.Unsubscribe(ctx, token); err != nil {
			t.Fatalf("unsubscribing twice: %v", err)
		}
		if _, err := e.svc.AddComment(ctx, e.admin, tk.ID, app.NewComment{Body: "Anything else?"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.ChangeStatus(ctx, e.admin, tk.ID, "Resolved", ""); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the status mail", func() bool { return len(outbox(t, db, desk.MailSent)) == 4 })
		if all := outbox(t, db, ""); len(all) != 4 || all[0].Notice != desk.NoticeStatus {
			t.Fatalf("after unsubscribing from replies: %+v", all)
		}

		// A chat message with no admin online: the admins get one mail,
		// naming the ticket the chat became, and no new-ticket mail for it.
		post, err := e.svc.SendChatMessage(ctx, e.owner, 0, "Is <anyone> there?")
		if err != nil || !post.Offline {
			t.Fatalf("offline chat: %+v %v", post, err)
		}
		msgs = srv.WaitFor(t, 5)
		chat := find(t, msgs, e.admin.Email, "live chat")
		if !strings.Contains(chat.Text, "Is <anyone> there?") || !strings.Contains(chat.HTML, "Is &lt;anyone&gt; there?") ||
			!strings.Contains(chat.Text, baseURL+"/tickets/"+strconv.FormatInt(post.Ticket.ID, 10)) {
			t.Errorf("chat mail:\n%s\n%s", chat.Text, chat.HTML)
		}
		waitFor(t, "the chat mail recorded", func() bool { return len(outbox(t, db, desk.MailSent)) == 5 })
		if n := len(outbox(t, db, "")); n != 5 {
			t.Errorf("%d mails after the offline chat, want 5 (no new-ticket mail for the chat's ticket)", n)
		}
		// With an admin online, chat messages send no mail.
		e.agent.set(e.admin.ID)
		if _, err := e.svc.SendChatMessage(ctx, e.owner, 0, "back again"); err != nil {
			t.Fatal(err)
		}
		if n := len(outbox(t, db, "")); n != 5 {
			t.Errorf("%d mails after an answered chat, want 5", n)
		}
	})
}

// TestMailSMTPDownThenUp: the mail written while the SMTP server is down
// is retried and delivered once it is back.
func TestMailSMTPDownThenUp(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, smtptest.Options{})
		srv.Stop()
		e := newEnvWith(t, db, mailConfig(), smtpSender(t, srv))
		runMailer(t, e.svc)
		tk, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "Printer", Description: "jammed", Category: "Technical"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "failed attempts", func() bool {
			ms := outbox(t, db, desk.MailPending)
			return len(ms) == 1 && ms[0].Attempts >= 2 && ms[0].LastError != ""
		})
		srv.Restart(t)
		got := srv.WaitFor(t, 1)
		if p := got[0].Parse(t); got[0].To[0] != e.admin.Email || !strings.Contains(p.Text, "/tickets/"+strconv.FormatInt(tk.ID, 10)) {
			t.Fatalf("delivered %v:\n%s", got[0].To, p.Text)
		}
		waitFor(t, "sent", func() bool { return len(outbox(t, db, desk.MailSent)) == 1 })
	})
}

// TestMailPermanentFailure: a 5xx reply fails the mail at once; admins see
// it and can queue it again.
func TestMailPermanentFailure(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := smtptest.Start(t, smtptest.Options{})
		srv.Reject(550, "mailbox unavailable")
		e := newEnvWith(t, db, mailConfig(), smtpSender(t, srv))
		runMailer(t, e.svc)
		if _, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "Payroll", Description: "wrong", Category: "Financial"}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the mail to fail", func() bool { return len(outbox(t, db, desk.MailFailed)) == 1 })
		failed, n, err := e.svc.Outbox(ctx, e.admin, app.OutboxQuery{Status: "failed"})
		if err != nil || n != 1 || failed[0].Attempts != 1 || !strings.Contains(failed[0].LastError, "550") {
			t.Fatalf("failed mails: %+v %d %v", failed, n, err)
		}
		if _, _, err := e.svc.Outbox(ctx, e.owner, app.OutboxQuery{}); !desk.IsKind(err, desk.KindForbidden) {
			t.Errorf("a user read the outbox: %v", err)
		}
		if _, _, err := e.svc.Outbox(ctx, e.admin, app.OutboxQuery{Status: "lost"}); !desk.IsKind(err, desk.KindInvalid) {
			t.Errorf("bad status: %v", err)
		}
		if _, err := e.svc.RetryMail(ctx, e.owner, failed[0].ID); !desk.IsKind(err, desk.KindForbidden) {
			t.Errorf("a user retried: %v", err)
		}
		srv.Reject(0, "")
		if _, err := e.svc.RetryMail(ctx, e.admin, failed[0].ID); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1)
		waitFor(t, "sent after retry", func() bool { return len(outbox(t, db, desk.MailSent)) == 1 })
		if _, err := e.svc.RetryMail(ctx, e.admin, failed[0].ID); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("retrying a sent mail: %v", err)
		}
	})
}

// TestMailGivesUp: temporary failures stop after MaxAttempts.
func TestMailGivesUp(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Reject(451, "try again later")
	cfg := mailConfig()
	cfg.Mailer.MaxAttempts = 3
	e := newEnvWith(t, db, cfg, smtpSender(t, srv))
	runMailer(t, e.svc)
	if _, err := e.svc.CreateTicket(context.Background(), e.owner, desk.NewTicket{Title: "x", Description: "y", Category: "Product"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mail to fail", func() bool { return len(outbox(t, db, desk.MailFailed)) == 1 })
	if m := outbox(t, db, desk.MailFailed)[0]; m.Attempts != 3 || !strings.Contains(m.LastError, "gave up after 3 attempts") || !strings.Contains(m.LastError, "451") {
		t.Fatalf("failed mail: %+v", m)
	}
}

// TestMailSurvivesRestart writes mail with one process (whose SMTP server
// never answers and whose worker never runs), closes it, and delivers the
// mail from a second one on the same database.
func TestMailSurvivesRestart(t *testing.T) {
	t.Parallel()
	engines := map[string]store.Config{
		"sqlite":   {SQLitePath: filepath.Join(t.TempDir(), "ticketflow.db")},
		"postgres": {DatabaseURL: "postgres"},
	}
	for name, cfg := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "postgres" {
				cfg.DatabaseURL = storetest.PostgresSchemaURL(t)
			}
			ctx := context.Background()
			db1, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db1.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			e := newEnvWith(t, db1, mailConfig(), unreachable{})
			tk, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "Before the crash", Description: "d", Category: "Technical"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.AddComment(ctx, e.admin, tk.ID, app.NewComment{Body: "We are on it"}, nil); err != nil {
				t.Fatal(err)
			}
			db1.Close()

			db2, err := store.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db2.Close() })
			srv := smtptest.Start(t, smtptest.Options{})
			svc2 := newService(t, db2, mailConfig(), smtpSender(t, srv))
			runMailer(t, svc2)
			msgs := srv.WaitFor(t, 2)
			find(t, msgs, "admin@example.com", "Before the crash")
			find(t, msgs, "owner@example.com", "replied")
		})
	}
}

// unreachable is a sender whose server never answers.
type unreachable struct{}

func (unreachable) Send(context.Context, *mail.Message) error { return io.ErrUnexpectedEOF }

// newService is a second service on an existing database.
func newService(t *testing.T, db *store.DB, cfg app.Config, sender app.Sender) *app.Service {
	t.Helper()
	blobs, err := blob.NewDisk(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := auth.NewIssuer([]byte(strings.Repeat("k", 32)), time.Minute, time.Now)
	svc, err := app.New(cfg, app.Deps{Store: db, Blobs: blobs, Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2),
		Issuer: issuer, Mail: sender})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestMailWithoutSMTP: with no SMTP server configured mails are logged and
// count as delivered.
func TestMailWithoutSMTP(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	var logs syncBuffer
	svc := mailService(t, db, mailConfig(), nil, &logs)
	admin := &desk.User{Email: "root@example.com", Username: "root", PasswordHash: "x", Role: desk.RoleAdmin, Active: true, DateJoined: time.Now()}
	user := &desk.User{Email: "jane@example.com", Username: "jane", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: time.Now()}
	for _, u := range []*desk.User{admin, user} {
		if err := db.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	runMailer(t, svc)
	if _, err := svc.CreateTicket(context.Background(), user, desk.NewTicket{Title: "Logged only", Description: "d", Category: "Product"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mail marked delivered", func() bool { return len(outbox(t, db, desk.MailSent)) == 1 })
	if s := logs.String(); !strings.Contains(s, "no SMTP server configured") || !strings.Contains(s, "root@example.com") || !strings.Contains(s, "Logged only") {
		t.Errorf("log:\n%s", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNotificationPrefs(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, mailConfig())
		p, err := e.svc.NotificationPrefs(ctx, e.owner)
		if err != nil || len(p) != 2 || !p[desk.NoticeReply] || !p[desk.NoticeStatus] {
			t.Fatalf("owner defaults: %v %v", p, err)
		}
		if p, _ := e.svc.NotificationPrefs(ctx, e.admin); len(p) != 4 {
			t.Fatalf("admin prefs: %v", p)
		}
		p, err = e.svc.SetNotificationPrefs(ctx, e.owner, map[string]bool{"ticket_reply": false})
		if err != nil || p[desk.NoticeReply] || !p[desk.NoticeStatus] {
			t.Fatalf("after turning replies off: %v %v", p, err)
		}
		for _, bad := range []map[string]bool{{"new_ticket": false}, {"bogus": true}} {
			if _, err := e.svc.SetNotificationPrefs(ctx, e.owner, bad); !desk.IsKind(err, desk.KindInvalid) {
				t.Errorf("%v: %v", bad, err)
			}
		}
		if _, err := e.svc.NotificationPrefs(ctx, e.inactive); !desk.IsKind(err, desk.KindUnauthenticated) {
			t.Errorf("inactive: %v", err)
		}
		// The admin turns off new-ticket mail: the owner's next ticket mails nobody.
		if _, err := e.svc.SetNotificationPrefs(ctx, e.admin, map[string]bool{"new_ticket": false}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "quiet", Description: "d", Category: "Product"}, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(outbox(t, db, "")); n != 0 {
			t.Errorf("%d mails for an opted-out admin", n)
		}
		// Turned off in the configuration: no admin mail either.
		quiet := newService(t, db, app.Config{BaseURL: baseURL}, nil)
		if _, err := quiet.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "quiet", Description: "d", Category: "Product"}, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(outbox(t, db, "")); n != 0 {
			t.Errorf("%d mails with admin notices turned off", n)
		}
	})
}

// settleCounter is the store, recording the mails of each SettleMails call.
type settleCounter struct {
	*store.DB
	mu    sync.Mutex
	calls [][]int64
}

func (s *settleCounter) SettleMails(ctx context.Context, outcomes []store.MailOutcome) ([]int64, error) {
	ids := make([]int64, len(outcomes))
	for i, o := range outcomes {
		ids[i] = o.ID
	}
	s.mu.Lock()
	s.calls = append(s.calls, ids)
	s.mu.Unlock()
	return s.DB.SettleMails(ctx, outcomes)
}

func (s *settleCounter) take() [][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

type senderFunc func(ctx context.Context, m *mail.Message) error

func (f senderFunc) Send(ctx context.Context, m *mail.Message) error { return f(ctx, m) }

// TestMailOutcomesRecordedTogether: a batch's outcomes are recorded in one
// commit; with a slow mail server, an outcome is recorded while the next
// mail is still being sent; a batch that has used half its lease releases
// its unsent mails.
func TestMailOutcomesRecordedTogether(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var sentBefore []int         // mails recorded as sent when each send began
		var onSend func(n int) error // what the n-th send of the phase does (from 1)
		sender := senderFunc(func(ctx context.Context, m *mail.Message) error {
			sent := len(outbox(t, db, desk.MailSent))
			mu.Lock()
			sentBefore = append(sentBefore, sent)
			n, f := len(sentBefore), onSend
			mu.Unlock()
			if f != nil {
				return f(n)
			}
			return nil
		})
		phase := func(f func(n int) error) {
			mu.Lock()
			sentBefore, onSend = nil, f
			mu.Unlock()
		}
		e := newEnvWith(t, db, mailConfig(), sender)
		counted := &settleCounter{DB: db}
		service := func(cfg app.Config) *app.Service { return mailService(t, counted, cfg, sender, io.Discard) }
		file := func() (ids []int64) {
			for range 3 {
				if _, err := e.svc.CreateTicket(ctx, e.owner, desk.NewTicket{Title: "Printer", Description: "jammed", Category: "Technical"}, nil); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range outbox(t, db, desk.MailPending) {
				ids = append(ids, m.ID)
			}
			if len(ids) != 3 {
				t.Fatalf("%d mails pending, want 3 (one per ticket, to the one admin)", len(ids))
			}
			slices.Sort(ids)
			return ids
		}
		deliver := func(cfg app.Config) {
			t.Helper()
			if n, err := service(cfg).DeliverMail(ctx); err != nil || n != 3 {
				t.Fatalf("deliver: %d %v", n, err)
			}
		}
		sentCount := func() int { return len(outbox(t, db, desk.MailSent)) }

		// Outcomes that may wait long: recorded at the batch's end, at once.
		cfg := mailConfig()
		cfg.Mailer.SettleWait = time.Minute
		ids := file()
		phase(nil)
		deliver(cfg)
		if calls := counted.take(); len(calls) != 1 || !slices.Equal(sorted(calls[0]), ids) {
			t.Fatalf("a batch of %v recorded in %v, want one call", ids, calls)
		}
		if !slices.Equal(sentBefore, []int{0, 0, 0}) || sentCount() != 3 {
			t.Fatalf("mails recorded as sent before each send: %v, want none before the batch's end; %d sent", sentBefore, sentCount())
		}

		// A slow second send: the first outcome is recorded while it runs.
		cfg.Mailer.SettleWait = 50 * time.Millisecond
		ids = file()
		sawFirst := false
		phase(func(n int) error {
			if n != 2 {
				return nil
			}
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if sentCount() == 4 {
					sawFirst = true
					break
				}
			}
			return nil
		})
		deliver(cfg)
		calls := counted.take()
		var all []int64
		for _, c := range calls {
			all = append(all, c...)
		}
		if !sawFirst || len(calls) < 2 || !slices.Equal(calls[0], ids[:1]) || !slices.Equal(sorted(all), ids) || sentCount() != 6 {
			t.Fatalf("slow server: first outcome recorded during the second send: %v; recorded %v for %v; %d sent", sawFirst, calls, ids, sentCount())
		}

		// A batch that has used half its lease releases the mails it has not sent.
		cfg = mailConfig()
		cfg.Mailer.Lease = time.Second
		ids = file()
		phase(func(n int) error {
			if n == 1 {
				time.Sleep(600 * time.Millisecond)
			}
			return nil
		})
		deliver(cfg)
		if len(sentBefore) != 1 || sentCount() != 7 {
			t.Fatalf("sends %v, %d sent; want one send", sentBefore, sentCount())
		}
		released := outbox(t, db, desk.MailPending)
		if len(released) != 2 || !strings.Contains(released[0].LastError, "half its lease") || released[0].Attempts != 1 {
			t.Fatalf("released: %+v", released)
		}
		counted.take()
		phase(nil)
		if n, err := service(mailConfig()).DeliverMail(ctx); err != nil || n != 2 || sentCount() != 9 {
			t.Fatalf("the released mails: delivered %d, %v; %d sent", n, err, sentCount())
		}
	})
}

func sorted(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
