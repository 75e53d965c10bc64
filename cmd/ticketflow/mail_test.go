package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/mail/smtptest"
)

func postAuth(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// waitLog waits until the server has logged want.
func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %q:\n%s", want, s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeMailSurvivesOutageAndRestart runs the real binary path: a
// ticket is opened while the SMTP server is down, the server is restarted,
// the SMTP server comes back, and the admin gets the mail.
func TestServeMailSurvivesOutageAndRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	smtp := smtptest.Start(t, smtptest.Options{})
	smtp.Stop()
	if _, err := createAdmin(t, dir, "boss@example.com", "boss", "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	env := envFunc("TICKETFLOW_DATA_DIR", dir, "TICKETFLOW_SMTP_HOST", smtp.Host, "TICKETFLOW_SMTP_PORT", strconv.Itoa(smtp.Port),
		"TICKETFLOW_SMTP_TLS", "none", "TICKETFLOW_MAIL_FROM", "TicketFlow <help@example.com>",
		"TICKETFLOW_BASE_URL", "https://help.example.com", "TICKETFLOW_MAIL_RETRY_BASE", "10ms")
	s := startServer(t, env)
	if code, m := post(t, s.url+"/api/auth/register", map[string]string{"email": "jane@example.com", "username": "jane",
		"password": "Nouveau123!@#", "password2": "Nouveau123!@#"}); code != 201 {
		t.Fatalf("register: %d %v", code, m)
	}
	_, login := post(t, s.url+"/api/auth/login", map[string]string{"email": "jane@example.com", "password": "Nouveau123!@#"})
	code, tk := postAuth(t, s.url+"/api/tickets", login["access"].(string), map[string]string{"title": "Laptop <broken>", "description": "Screen is black", "category": "Technical"})
	if code != 201 {
		t.Fatalf("create ticket: %d %v", code, tk)
	}
	waitLog(t, s, "mail not sent; will retry")
	s.stop(t)

	smtp.Restart(t)
	s2 := startServer(t, env)
	got := smtp.WaitFor(t, 1)[0]
	p := got.Parse(t)
	id := strconv.Itoa(int(tk["id"].(float64)))
	if got.To[0] != "boss@example.com" || got.From != "help@example.com" || !strings.Contains(p.Subject, "Laptop <broken>") ||
		!strings.Contains(p.Text, "https://help.example.com/tickets/"+id) || !strings.Contains(p.HTML, "Laptop &lt;broken&gt;") {
		t.Fatalf("mail to %v from %s: %s\n%s\n%s", got.To, got.From, p.Subject, p.Text, p.HTML)
	}
	// The admins' outbox API shows it sent.
	_, admin := post(t, s2.url+"/api/auth/login", map[string]string{"email": "boss@example.com", "password": "Correct-Horse-9"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, list := get(t, s2.url+"/api/admin/outbox?status=sent", admin["access"].(string))
		if code == 200 && list["count"] == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %d %v", code, list)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeRefusesBadMailSettings(t *testing.T) {
	t.Parallel()
	for _, kv := range [][]string{
		{"TICKETFLOW_SMTP_HOST", "smtp.example.com"}, // no sender
		{"TICKETFLOW_SMTP_HOST", "smtp.example.com", "TICKETFLOW_MAIL_FROM", "x@example.com", "TICKETFLOW_SMTP_TLS", "ssl"},
		{"TICKETFLOW_SMTP_USERNAME", "relay"}, // no host
		{"TICKETFLOW_MAIL_RETRY_BASE", "0s"},
	} {
		var out, errOut syncBuffer
		err := run(t.Context(), []string{"ticketflow", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, envFunc(kv...), nil, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", kv, err)
		}
	}
}
