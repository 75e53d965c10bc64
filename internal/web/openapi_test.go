package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"ticketflow/internal/desk"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

func init() {
	// The docs page is HTML; validate it as a plain string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

func loadSpec(t *testing.T, serverURL string) (*openapi3.T, routers.Router) {
	t.Helper()
	raw, err := os.ReadFile("openapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("not OpenAPI 3.1: %s", doc.OpenAPI)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// validator checks every request and response that passes through it
// against the document and records which operations were exercised.
type validator struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
	mu     sync.Mutex
	seen   map[string]bool // "METHOD /path status"
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	resBody, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if p := req.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		return res, nil // the trailing-slash spellings are documented once
	}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		v.t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return res, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
		ExcludeRequestBody: strings.HasPrefix(req.Header.Get("Content-Type"), "multipart/")}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	// Requests that the test sends invalid on purpose are answered 4xx; only
	// accepted requests must match the documented request schema.
	if res.StatusCode < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("%s %s: request does not match the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(resBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s → %d: response does not match the document: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, resBody)
	}
	v.mu.Lock()
	v.seen[req.Method+" "+route.Path+" "+fmt.Sprint(res.StatusCode)] = true
	v.seen[req.Method+" "+route.Path] = true
	v.mu.Unlock()
	return res, nil
}

// TestOpenAPIContract drives every documented operation through a server
// whose every response is validated against the document.
func TestOpenAPIContract(t *testing.T) {
	t.Parallel()
	e := env(t, webtest.Options{Web: web.Config{TawkWebhookSecret: tawkSecret}})
	doc, router := loadSpec(t, e.URL)
	v := &validator{t: t, router: router, next: http.DefaultTransport, seen: map[string]bool{}}
	e.Client.Transport = v

	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	user := e.CreateUser(t, "jane", desk.RoleUser)
	do := func(method, path string, body any, token string, want int) *webtest.Response {
		t.Helper()
		r := e.Do(t, method, path, body, token)
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
		return r
	}
	do("GET", "/healthz", nil, "", 200)
	do("GET", "/readyz", nil, "", 200)
	do("GET", "/api/openapi.json", nil, "", 200)
	if r := do("GET", "/api/docs", nil, "", 200); !bytes.Contains(r.Body, []byte("/api/tickets/{id}/status")) {
		t.Error("docs page lacks an operation")
	}
	do("POST", "/api/auth/register", map[string]string{"email": "n@test.com", "username": "nouveau", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, "", 201)
	do("POST", "/api/auth/register", map[string]string{"email": "bad"}, "", 400)
	login := do("POST", "/api/auth/login", map[string]string{"email": "n@test.com", "password": "Nouveau123!@#"}, "", 200)
	do("POST", "/api/auth/login", map[string]string{"email": "n@test.com", "password": "wrong-one"}, "", 401)
	do("POST", "/api/auth/login", map[string]string{}, "", 400)
	ref := do("POST", "/api/auth/refresh", map[string]string{"refresh": login.JSON["refresh"].(string)}, "", 200)
	do("POST", "/api/auth/refresh", map[string]string{"refresh": "nope"}, "", 401)
	do("POST", "/api/auth/logout", map[string]string{"refresh": ref.JSON["refresh"].(string)}, "", 200)
	do("GET", "/api/auth/me", nil, user.Access, 200)
	do("GET", "/api/auth/me", nil, "", 401)
	do("GET", "/api/auth/users/me", nil, user.Access, 200)
	do("GET", "/api/users?page_size=1", nil, admin.Access, 200)
	do("GET", "/api/users", nil, user.Access, 403)
	do("GET", "/api/users/"+itoa(user.ID), nil, admin.Access, 200)
	do("GET", "/api/users/424242", nil, admin.Access, 404)
	do("PATCH", "/api/users/"+itoa(user.ID), map[string]any{"role": "user", "is_active": true}, admin.Access, 200)
	do("PATCH", "/api/users/"+itoa(admin.ID), map[string]any{"role": "user"}, admin.Access, 409)

	// Email notifications and the outbox.
	do("GET", "/api/auth/me/notifications", nil, user.Access, 200)
	do("GET", "/api/auth/me/notifications", nil, "", 401)
	do("PATCH", "/api/auth/me/notifications", map[string]any{"ticket_reply": false}, user.Access, 200)
	do("PATCH", "/api/auth/me/notifications", map[string]any{"new_ticket": false}, user.Access, 400)
	do("PATCH", "/api/auth/me/notifications", map[string]any{"new_ticket": false}, admin.Access, 200)
	failed := failedMail(t, e, admin.ID)
	do("GET", "/api/admin/outbox?status=failed&page_size=1", nil, admin.Access, 200)
	do("GET", "/api/admin/outbox?status=lost", nil, admin.Access, 400)
	do("GET", "/api/admin/outbox", nil, user.Access, 403)
	do("POST", "/api/admin/outbox/"+itoa(failed)+"/retry", nil, admin.Access, 200)
	do("POST", "/api/admin/outbox/"+itoa(failed)+"/retry", nil, admin.Access, 409)
	do("POST", "/api/admin/outbox/424242/retry", nil, admin.Access, 404)
	do("POST", "/api/admin/outbox/424242/retry", nil, user.Access, 403)
	do("POST", "/api/admin/outbox/424242/retry", nil, "", 401)

	tk := do("POST", "/api/tickets", map[string]any{"title": "VPN", "description": "down", "category": "Technical"}, user.Access, 201)
	id := itoa(int64(tk.JSON["id"].(float64)))
	m := ticketForm("With files").File("attachment", "a.png", pngFile).File("attachment", "b.pdf", pdfFile).Close()
	withFiles := do("POST", "/api/tickets", m, user.Access, 201)
	do("POST", "/api/tickets", ticketForm("svg").File("attachment", "x.svg", svgFile).Close(), user.Access, 415)
	do("POST", "/api/tickets", map[string]any{"title": ""}, user.Access, 400)
	do("GET", "/api/tickets?page_size=1", nil, admin.Access, 200)
	do("GET", "/api/tickets?search=vpn", nil, user.Access, 200)
	do("GET", "/api/tickets?status=Closed", nil, user.Access, 400)
	do("GET", "/api/tickets/"+id, nil, user.Access, 200)
	do("GET", "/api/tickets/424242", nil, user.Access, 404)
	do("PATCH", "/api/tickets/"+id+"/status", map[string]any{"status": "Under Review", "note": "on it"}, admin.Access, 200)
	do("PATCH", "/api/tickets/"+id+"/status", map[string]any{"status": "Resolved"}, user.Access, 403)
	do("PATCH", "/api/tickets/"+id+"/update_status", map[string]any{"status": "Resolved"}, admin.Access, 200)
	do("PATCH", "/api/tickets/"+id+"/update_status", map[string]any{"status": "Nope"}, admin.Access, 400)
	do("GET", "/api/tickets/"+id+"/history", nil, user.Access, 200)
	att := withFiles.JSON["attachments"].([]any)[0].(map[string]any)
	aid := itoa(int64(att["id"].(float64)))
	do("GET", "/api/attachments/"+aid, nil, user.Access, 200)
	do("GET", "/api/attachments/"+aid+"/download", nil, admin.Access, 200)
	do("GET", strings.TrimPrefix(att["url"].(string), e.URL), nil, "", 200)
	do("GET", "/api/attachments/"+aid, nil, "", 401)
	do("GET", "/api/attachments/424242/download", nil, user.Access, 404)

	// Conversations.
	do("POST", "/api/tickets/"+id+"/comments", map[string]any{"body": "Still down"}, user.Access, 201)
	do("POST", "/api/tickets/"+id+"/comments", map[string]any{"body": "Check the DNS", "internal": true}, admin.Access, 201)
	do("POST", "/api/tickets/"+id+"/comments", map[string]any{"body": "Sneaky", "internal": true}, user.Access, 403)
	do("POST", "/api/tickets/"+id+"/comments", webtest.NewMultipart().Field("body", "Screenshot").File("attachment", "s.png", pngFile).Close(), user.Access, 201)
	do("POST", "/api/tickets/"+id+"/comments", map[string]any{"body": ""}, user.Access, 400)
	do("POST", "/api/tickets/424242/comments", map[string]any{"body": "x"}, user.Access, 404)
	if r := do("GET", "/api/tickets/"+id+"/comments", nil, user.Access, 200); r.JSON["count"] != 2.0 {
		t.Errorf("the owner must see 2 replies and no internal note: %s", r.Body)
	}
	do("GET", "/api/tickets/"+id+"/comments?after=1", nil, admin.Access, 200)
	do("GET", "/api/tickets/"+id+"/comments?after=x", nil, admin.Access, 400)
	do("GET", "/api/tickets/424242/comments", nil, admin.Access, 404)

	// Live chat, with the admin online (an open event stream).
	e.Stream(t, "/api/events", admin.Access).Next(t)
	do("GET", "/api/chat", nil, user.Access, 200)
	sent := do("POST", "/api/chat/messages", map[string]any{"body": "Hello?"}, user.Access, 201)
	do("POST", "/api/chat/messages", map[string]any{"body": ""}, user.Access, 400)
	chat := "/api/chats/" + itoa(int64(sent.JSON["chat"].(map[string]any)["id"].(float64)))
	do("GET", "/api/chats?status=open", nil, admin.Access, 200)
	do("GET", "/api/chats?status=x", nil, admin.Access, 400)
	do("GET", chat, nil, user.Access, 200)
	do("GET", chat+"?after=1", nil, admin.Access, 200)
	do("GET", "/api/chats/424242", nil, admin.Access, 404)
	do("POST", chat+"/typing", nil, admin.Access, 204)
	do("POST", "/api/chats/424242/typing", nil, user.Access, 404)
	do("POST", chat+"/messages", map[string]any{"body": "Hi Jane"}, admin.Access, 201)
	do("POST", "/api/chats/424242/messages", map[string]any{"body": "x"}, admin.Access, 404)
	do("POST", chat+"/ticket", map[string]any{"title": "Chat with Jane", "category": "Technical"}, user.Access, 403)
	do("POST", chat+"/ticket", map[string]any{"title": "Chat with Jane", "category": "Technical"}, admin.Access, 201)
	do("POST", chat+"/ticket", nil, admin.Access, 409)
	do("POST", chat+"/messages", map[string]any{"body": "Late"}, admin.Access, 409)
	second := do("POST", "/api/chat/messages", map[string]any{"body": "One more thing"}, user.Access, 201)
	chat2 := "/api/chats/" + itoa(int64(second.JSON["chat"].(map[string]any)["id"].(float64)))
	do("POST", chat2+"/close", nil, user.Access, 200)
	do("POST", chat2+"/close", nil, user.Access, 409)
	do("POST", "/api/chats/424242/close", nil, user.Access, 404)

	// Event streams (the 200 streams are covered by api_events_test.go).
	do("GET", "/api/events", nil, "", 401)
	do("GET", "/api/tickets/424242/events", nil, user.Access, 404)
	do("GET", "/api/chats/424242/events", nil, user.Access, 404)
	if s := e.Stream(t, "/api/tickets/"+id+"/events", user.Access); s.Status != 200 {
		t.Errorf("ticket stream: %d", s.Status)
	}

	// Tawk.to webhooks.
	hook := func(body, sig string, want int) {
		t.Helper()
		if r := e.Do(t, "POST", "/api/integrations/tawk", body, "", "Content-Type", "application/json", "X-Tawk-Signature", sig, "X-Hook-Event-Id", "ev-1"); r.Status != want {
			t.Fatalf("tawk: %d, want %d: %s", r.Status, want, r.Body)
		}
	}
	hook(tawkBody, tawkSig, 201)
	hook(tawkBody, tawkSig, 200)
	hook(`{"event":"chat:start"}`, sign(tawkSecret, `{"event":"chat:start"}`), 202)
	hook(tawkBody, sign("wrong", tawkBody), 401)
	hook("nope", sign(tawkSecret, "nope"), 400)

	// Every documented operation was exercised.
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !v.seen[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised: %v", missing)
	}
}

// TestRoutesAreDocumented fails when routes.go serves an API path the
// document does not describe.
func TestRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := loadSpec(t, "http://x")
	re := regexp.MustCompile(`mux\.Handle\("([A-Z]+) (/[^"]*)"`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		method, path := m[1], m[2]
		if !strings.HasPrefix(path, "/api/") && path != "/healthz" && path != "/readyz" {
			continue
		}
		n++
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s %s is served but not documented", method, path)
		}
	}
	if n < 15 {
		t.Fatalf("found only %d API routes in routes.go; the pattern is stale", n)
	}
}
