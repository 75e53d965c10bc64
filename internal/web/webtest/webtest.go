// Package webtest runs a complete TicketFlow HTTP server for tests: a real
// store (SQLite file or PostgreSQL schema), real disk attachment storage and
// a clock the test controls.
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/realtime"
	"ticketflow/internal/store"
	"ticketflow/internal/web"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Env is a running server and its parts.
type Env struct {
	URL    string
	DB     *store.DB
	Svc    *app.Service
	Blobs  *blob.Disk
	Clock  *Clock
	Server *httptest.Server
	Client *http.Client
	Hub    *realtime.Hub
}

// Options adjust the environment.
type Options struct {
	App     app.Config
	Web     web.Config
	LogSink io.Writer
	// Hub is the event hub to use (e.g. one bridged to other instances);
	// nil: a fresh single-instance hub, run until the test ends.
	Hub *realtime.Hub
}

// New starts a server on db. Hashing uses cheap argon2id parameters.
func New(t testing.TB, db *store.DB, opt Options) *Env {
	t.Helper()
	clock := &Clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	blobs, err := blob.NewDisk(filepath.Join(t.TempDir(), "attachments"))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer([]byte(strings.Repeat("t", 32)), orDefault(opt.App.AccessTTL, 15*time.Minute), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	sink := opt.LogSink
	if sink == nil {
		sink = io.Discard
	}
	log := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hub := opt.Hub
	if hub == nil {
		hub = realtime.NewHub(realtime.Config{Log: log})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { hub.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	svc, err := app.New(opt.App, app.Deps{Store: db, Blobs: blobs, Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 4),
		Issuer: issuer, Log: log, Now: clock.Now, Events: hub, Presence: hub})
	if err != nil {
		t.Fatal(err)
	}
	wc := opt.Web
	wc.Now = clock.Now
	wc.Hub = hub
	if wc.URLKey == nil {
		wc.URLKey = []byte(strings.Repeat("u", 32))
	}
	if wc.Ready == nil {
		wc.Ready = db.Ping
	}
	// Served as `ticketflow serve` serves: JSON bodies leave in one write.
	srv := httptest.NewUnstartedServer(web.NewServer(wc, log, svc))
	srv.Listener = web.WrapListener(srv.Listener)
	srv.Config.ConnContext = web.ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return &Env{URL: srv.URL, DB: db, Svc: svc, Blobs: blobs, Clock: clock, Server: srv, Hub: hub,
		Client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// User is an account made by the harness, logged in through the API.
type User struct {
	*desk.User
	Password string
	Access   string
	Refresh  string
}

// CreateUser stores an account directly and logs it in over HTTP.
func (e *Env) CreateUser(t testing.TB, username string, role desk.Role) *User {
	t.Helper()
	ctx := context.Background()
	pw := "pw-" + username + "-Long-Enough"
	h := auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1)
	hash, _ := h.Hash(ctx, pw)
	u := &desk.User{Email: username + "@example.com", Username: username, PasswordHash: hash, Role: role, Active: true, DateJoined: e.Clock.Now()}
	if err := e.DB.CreateUser(ctx, u); err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	tu := &User{User: u, Password: pw}
	e.Login(t, tu)
	return tu
}

// Login (re)authenticates u over the API and stores its tokens.
func (e *Env) Login(t testing.TB, u *User) {
	t.Helper()
	r := e.Do(t, "POST", "/api/auth/login", map[string]string{"username": u.Username, "password": u.Password}, "")
	if r.Status != 200 {
		t.Fatalf("login %s: %d %s", u.Username, r.Status, r.Body)
	}
	u.Access, _ = r.JSON["access"].(string)
	u.Refresh, _ = r.JSON["refresh"].(string)
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any // when the body is a JSON object
	List   []any          // when the body is a JSON array
}

// Do sends a request. body may be nil, a []byte/string (sent as is) or any
// value (sent as JSON). token, when set, is sent as a Bearer token.
func (e *Env) Do(t testing.TB, method, path string, body any, token string, hdr ...string) *Response {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case *Multipart:
		rd, ct = bytes.NewReader(b.buf.Bytes()), b.w.FormDataContentType()
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := &Response{Status: res.StatusCode, Header: res.Header}
	out.Body, _ = io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(out.Body, &out.JSON)
		_ = json.Unmarshal(out.Body, &out.List)
	}
	return out
}

// Multipart builds a multipart body.
type Multipart struct {
	buf bytes.Buffer
	w   *multipart.Writer
}

// NewMultipart starts a multipart body.
func NewMultipart() *Multipart {
	m := &Multipart{}
	m.w = multipart.NewWriter(&m.buf)
	return m
}

// Field adds a text field.
func (m *Multipart) Field(name, value string) *Multipart {
	_ = m.w.WriteField(name, value)
	return m
}

// File adds a file part.
func (m *Multipart) File(field, filename string, content []byte) *Multipart {
	w, _ := m.w.CreateFormFile(field, filename)
	_, _ = w.Write(content)
	return m
}

// Close finishes the body; call it before sending.
func (m *Multipart) Close() *Multipart {
	_ = m.w.Close()
	return m
}

// Bytes returns the body written so far (without the closing boundary
// unless Close was called): for tests that send a cut or altered body.
func (m *Multipart) Bytes() []byte { return m.buf.Bytes() }

// Boundary returns the body's boundary.
func (m *Multipart) Boundary() string { return m.w.Boundary() }

// BlobCount counts the files in the attachment store.
func (e *Env) BlobCount(t testing.TB) int {
	t.Helper()
	n := 0
	if err := e.Blobs.Keys(context.Background(), func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
