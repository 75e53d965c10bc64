package mail_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/mail/smtptest"
)

func view(n desk.Notice) mail.View {
	return mail.View{Notice: n, Recipient: "jane", TicketID: 12, ChatID: 3,
		Content: mail.Content{Title: `VPN <b>"down"</b>`, Actor: "root", From: "New", To: "Resolved", Note: "see <i>note</i>",
			Body: "line one <script>alert(1)</script>\nline & two", Category: "Technical", Priority: "High"},
		Link: "https://help.example.com/tickets/12", PrefsURL: "https://help.example.com/settings/notifications",
		UnsubscribeURL: "https://help.example.com/unsubscribe?t=abc.def"}
}

func TestRenderEveryNotice(t *testing.T) {
	t.Parallel()
	r, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range desk.Notices {
		out, err := r.Render(view(n))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if strings.ContainsAny(out.Subject, "\r\n") || out.Subject == "" {
			t.Errorf("%s: subject %q", n, out.Subject)
		}
		for _, part := range []string{out.Text, out.HTML} {
			for _, want := range []string{"jane", "https://help.example.com/tickets/12", "https://help.example.com/unsubscribe?t=abc.def",
				"https://help.example.com/settings/notifications"} {
				if !strings.Contains(part, want) {
					t.Errorf("%s: a part lacks %q:\n%s", n, want, part)
				}
			}
		}
		// User text is escaped in HTML and kept verbatim in text.
		if strings.Contains(out.HTML, "<script>") || strings.Contains(out.HTML, "<b>") || strings.Contains(out.HTML, "<i>") {
			t.Errorf("%s: unescaped user text in HTML:\n%s", n, out.HTML)
		}
		if n != desk.NoticeStatus && (!strings.Contains(out.HTML, "&lt;script&gt;") || !strings.Contains(out.Text, "<script>alert(1)</script>")) {
			t.Errorf("%s: body not rendered as expected:\n%s\n%s", n, out.Text, out.HTML)
		}
	}
	if _, err := r.Render(mail.View{Notice: "bogus"}); err == nil {
		t.Error("unknown notice rendered")
	}
	status, _ := r.Render(view(desk.NoticeStatus))
	if !strings.Contains(status.Text, "from New to Resolved") || !strings.Contains(status.HTML, "see &lt;i&gt;note&lt;/i&gt;") {
		t.Errorf("status mail:\n%s\n%s", status.Text, status.HTML)
	}
}

func message(to string) *mail.Message {
	return &mail.Message{To: to, Subject: "Hello\r\nBcc: evil@example.com", Text: "plain ünïcode\n", HTML: "<p>html</p>",
		MessageID: "mail-1.42@help.example.com", Date: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Unsubscribe: "https://help.example.com/unsubscribe?t=abc"}
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: mail.TLSNone, From: "TicketFlow <help@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message("jane@example.com")); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1)[0]
	if got.From != "help@example.com" || len(got.To) != 1 || got.To[0] != "jane@example.com" {
		t.Fatalf("envelope: %+v", got)
	}
	p := got.Parse(t)
	if p.Subject != "Hello Bcc: evil@example.com" || p.Header.Get("Bcc") != "" {
		t.Errorf("subject %q (header injection?) %v", p.Subject, p.Header)
	}
	if p.Text != "plain ünïcode\n" || p.HTML != "<p>html</p>" {
		t.Errorf("parts %q %q", p.Text, p.HTML)
	}
	h := p.Header
	if h.Get("Message-Id") != "<mail-1.42@help.example.com>" || h.Get("List-Unsubscribe") != "<https://help.example.com/unsubscribe?t=abc>" ||
		h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers: %v", h)
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: mail.TLSNone, From: "help@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv.Reject(550, "no such user")
	if err := s.Send(ctx, message("gone@example.com")); err == nil || !mail.IsPermanent(err) {
		t.Errorf("550: %v, permanent %v", err, mail.IsPermanent(err))
	}
	srv.Reject(451, "try later")
	if err := s.Send(ctx, message("jane@example.com")); err == nil || mail.IsPermanent(err) {
		t.Errorf("451: %v, permanent %v", err, mail.IsPermanent(err))
	}
	srv.Reject(0, "")
	srv.Stop()
	if err := s.Send(ctx, message("jane@example.com")); err == nil || mail.IsPermanent(err) {
		t.Errorf("server down: %v, permanent %v", err, mail.IsPermanent(err))
	}
	srv.Restart(t)
	if err := s.Send(ctx, message("jane@example.com")); err != nil {
		t.Errorf("after restart: %v", err)
	}
	if err := s.Send(ctx, message("not an address")); err == nil || !mail.IsPermanent(err) {
		t.Errorf("bad address: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages accepted, want 1", n)
	}
}

func TestSMTPTLSAndAuth(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{mail.TLSStartTLS, mail.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{TLS: mode, Username: "relay", Password: "s3cret"})
			cfg := mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: mode, From: "help@example.com", Username: "relay", Password: "s3cret",
				TLSConfig: srv.ClientTLS()}
			s, err := mail.NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), message("jane@example.com")); err != nil {
				t.Fatal(err)
			}
			if got := srv.WaitFor(t, 1)[0]; got.Auth != "relay" {
				t.Errorf("authenticated as %q", got.Auth)
			}
			cfg.Password = "wrong"
			bad, _ := mail.NewSMTP(cfg)
			if err := bad.Send(context.Background(), message("jane@example.com")); err == nil || mail.IsPermanent(err) {
				t.Errorf("wrong password must fail and be retried (a setting, not the message): %v", err)
			}
		})
	}
	// STARTTLS is required in starttls mode.
	plain := smtptest.Start(t, smtptest.Options{})
	s, _ := mail.NewSMTP(mail.SMTPConfig{Host: plain.Host, Port: plain.Port, TLS: mail.TLSStartTLS, From: "help@example.com"})
	if err := s.Send(context.Background(), message("jane@example.com")); err == nil {
		t.Error("sent in the clear in starttls mode")
	}
}

func TestSMTPConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []mail.SMTPConfig{{From: "a@b.c"}, {Host: "h", From: "nope"}, {Host: "h", From: "a@b.c", TLS: "ssl3"}} {
		if _, err := mail.NewSMTP(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestLogSender(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	l := mail.NewLog(slog.New(slog.NewTextHandler(&buf, nil)))
	if err := l.Send(context.Background(), message("jane@example.com")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "jane@example.com") || !strings.Contains(buf.String(), "no SMTP server") {
		t.Errorf("log: %s", buf.String())
	}
}
