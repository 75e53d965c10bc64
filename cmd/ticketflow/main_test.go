package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func envFunc(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// server is a ticketflow serve started through run.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

func startServer(t *testing.T, getenv func(string) string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"ticketflow", "serve", "--addr", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), s.stdout, s.stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for s.url == "" {
		if m := listenRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			break
		}
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("server exited: %v\n%s", err, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start:\n%s", s.stderr)
		}
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("serve returned %v", err)
	}
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func createAdmin(t *testing.T, dir, email, username, password string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"ticketflow", "create-admin", "--data-dir", dir, "--email", email, "--username", username, "--password-stdin"},
		envFunc(), strings.NewReader(password+"\n"), &out, &errOut)
	return out.String(), err
}

func TestServeZeroConfig(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, envFunc("TICKETFLOW_DATA_DIR", dir))
	if !strings.Contains(s.stdout.String(), "create-admin") {
		t.Errorf("no first-admin hint:\n%s", s.stdout)
	}
	if code, m := get(t, s.url+"/healthz", ""); code != 200 || m["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, m)
	}
	if code, m := get(t, s.url+"/readyz", ""); code != 200 || m["status"] != "ready" {
		t.Fatalf("readyz: %d %v", code, m)
	}
	if code, m := get(t, s.url+"/api/unknown", ""); code != 404 || m["detail"] == nil {
		t.Fatalf("unknown API path: %d %v", code, m)
	}
	// A second server on the same data directory is refused.
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"ticketflow", "--addr", "127.0.0.1:0", "--data-dir", dir}, envFunc(), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "another TicketFlow server") {
		t.Fatalf("second server: %v", err)
	}
	// create-admin while the server runs, then log in; the token survives a
	// restart because the generated secret is persisted.
	if msg, err := createAdmin(t, dir, "boss@example.com", "boss", "Correct-Horse-9"); err != nil || !strings.Contains(msg, "Created admin") {
		t.Fatalf("create-admin: %q %v", msg, err)
	}
	code, m := post(t, s.url+"/api/auth/login", map[string]string{"email": "boss@example.com", "password": "Correct-Horse-9"})
	if code != 200 {
		t.Fatalf("login: %d %v", code, m)
	}
	token := m["access"].(string)
	s.stop(t)
	s2 := startServer(t, envFunc(), "--data-dir", dir)
	if strings.Contains(s2.stdout.String(), "create-admin") {
		t.Errorf("first-admin hint shown with an admin present")
	}
	if code, m := get(t, s2.url+"/api/auth/me", token); code != 200 || m["role"] != "admin" {
		t.Fatalf("token after restart: %d %v", code, m)
	}
}

func TestCreateAdminIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if msg, err := createAdmin(t, dir, "a@example.com", "alice", "Correct-Horse-9"); err != nil || !strings.Contains(msg, "Created") {
		t.Fatalf("first: %q %v", msg, err)
	}
	if msg, err := createAdmin(t, dir, "A@EXAMPLE.com", "alice", "ignored-password-1"); err != nil || !strings.Contains(msg, "already an active admin") {
		t.Fatalf("second: %q %v", msg, err)
	}
	if _, err := createAdmin(t, dir, "b@example.com", "bob", "password"); err == nil || !strings.Contains(err.Error(), "too common") {
		t.Fatalf("weak password: %v", err)
	}
	if _, err := createAdmin(t, dir, "a@example.com", "someoneelse", "Correct-Horse-9"); err != nil {
		t.Fatalf("email of an admin with another username: %v", err)
	}
	// Promote a self-registered user.
	s := startServer(t, envFunc(), "--data-dir", dir)
	if code, m := post(t, s.url+"/api/auth/register", map[string]string{"email": "u@example.com", "username": "user1", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}); code != 201 {
		t.Fatalf("register: %d %v", code, m)
	}
	if msg, err := createAdmin(t, dir, "u@example.com", "user1", ""); err != nil || !strings.Contains(msg, "now an active admin") {
		t.Fatalf("promote: %q %v", msg, err)
	}
	code, m := post(t, s.url+"/api/auth/login", map[string]string{"username": "user1", "password": "Nouveau123!@#"})
	if code != 200 || m["user"].(map[string]any)["role"] != "admin" {
		t.Fatalf("promoted login: %d %v", code, m)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"ticketflow", "create-admin", "--data-dir", dir, "--email", "x@example.com", "--username", "x"}, envFunc(), strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, errUsage) {
		t.Fatalf("without --password-stdin: %v", err)
	}
}

func TestMigrateAndRefusePending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"ticketflow", "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--migrate=false"}, envFunc(), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("serve with pending migrations: %v", err)
	}
	if err := run(context.Background(), []string{"ticketflow", "migrate", "--data-dir", dir}, envFunc(), nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "Migrated") {
		t.Fatalf("migrate: %v %s", err, out.String())
	}
	if err := run(context.Background(), []string{"ticketflow", "migrate", "--data-dir", dir}, envFunc(), nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("migrate again: %v %s", err, out.String())
	}
	startServer(t, envFunc("TICKETFLOW_AUTO_MIGRATE", "false"), "--data-dir", dir)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := [][]string{
		{"frobnicate"},
		{"serve", "--no-such-flag"},
		{"serve", "extra-arg"},
		{"serve", "--registration", "sometimes"},
		{"serve", "--registration", "domains"},
		{"serve", "--log-format", "xml"},
		{"serve", "--base-url", "help.example.com"},
		{"serve", "--trusted-proxies", "not-an-ip"},
		{"serve", "--tawk-property-id", "YOUR_TAWKTO_ID"},
		{"serve", "--tawk-property-id", "58ca8453b8a7e060cd3b1ecb", "--tawk-widget-id", "x/../y"},
		{"serve", "--tawk-property-id", "58ca8453b8a7e060cd3b1ecb", "--tawk-embed-base", "javascript:alert(1)"},
	}
	for _, c := range cases {
		var out, errOut syncBuffer
		err := run(context.Background(), append([]string{"ticketflow", "--data-dir", t.TempDir()}[:1], append(c, "--data-dir", t.TempDir())...), envFunc(), nil, &out, &errOut)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", c, err)
		}
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"ticketflow", "serve"}, envFunc("TICKETFLOW_ACCESS_TTL", "soon"), nil, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "TICKETFLOW_ACCESS_TTL") {
		t.Errorf("bad env duration: %v", err)
	}
	err = run(context.Background(), []string{"ticketflow", "serve", "--data-dir", t.TempDir()}, envFunc("DATABASE_URL", "mysql://x"), nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("bad DATABASE_URL: %v", err)
	}
	if err := run(context.Background(), []string{"ticketflow", "version"}, envFunc(), nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "ticketflow") {
		t.Errorf("version: %v", err)
	}
}

func TestServePostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	// Two instances on one database share secrets and the schema.
	a := startServer(t, envFunc("DATABASE_URL", url), "--data-dir", t.TempDir(), "--log-format", "json")
	b := startServer(t, envFunc("DATABASE_URL", url), "--data-dir", t.TempDir())
	if !strings.Contains(a.stderr.String(), `"database":"postgres"`) {
		t.Errorf("JSON log lacks the engine:\n%s", a.stderr)
	}
	code, _ := post(t, a.url+"/api/auth/register", map[string]string{"email": "u@example.com", "username": "user1", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"})
	if code != 201 {
		t.Fatalf("register: %d", code)
	}
	code, m := post(t, b.url+"/api/auth/login", map[string]string{"username": "user1", "password": "Nouveau123!@#"})
	if code != 200 {
		t.Fatalf("login on b: %d %v", code, m)
	}
	if code, _ := get(t, a.url+"/api/auth/me", m["access"].(string)); code != 200 {
		t.Fatalf("token from b rejected by a: %d", code)
	}
	if code, _ := get(t, a.url+"/readyz", ""); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
}

// TestGracefulShutdown starts an upload, asks the server to stop while the
// body is still arriving, and checks the request completes.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, envFunc(), "--data-dir", dir)
	post(t, s.url+"/api/auth/register", map[string]string{"email": "u@example.com", "username": "user1", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"})
	_, m := post(t, s.url+"/api/auth/login", map[string]string{"username": "user1", "password": "Nouveau123!@#"})
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", s.url+"/api/tickets", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+m["access"].(string))
	type result struct {
		code int
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			resc <- result{0, err}
			return
		}
		res.Body.Close()
		resc <- result{res.StatusCode, nil}
	}()
	mw.WriteField("title", "in flight")
	mw.WriteField("category", "Technical")
	mw.WriteField("description", "sent during shutdown")
	fw, _ := mw.CreateFormFile("attachment", "log.txt")
	fw.Write(bytes.Repeat([]byte("first half of a log line\n"), 256<<10/25))
	// The handler reserves an upload intent before streaming the file: once
	// it is in the database, the request is in flight and must finish.
	db, err := store.Open(context.Background(), store.Config{SQLitePath: filepath.Join(dir, "ticketflow.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		keys, err := db.StaleBlobIntents(context.Background(), time.Now().Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload never reached the handler\n%s", s.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.cancel()
	for !strings.Contains(s.stderr.String(), "shutting down") {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprint(fw, "second half\n")
	mw.Close()
	pw.Close()
	r := <-resc
	if r.err != nil || r.code != 201 {
		t.Fatalf("in-flight request: %d %v\n%s", r.code, r.err, s.stderr)
	}
	if err := <-s.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	s.cancel = nil
}
