package web_test

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// hostileValues are what an attacker puts in query parameters: SQL,
// FTS5 and tsquery syntax, quotes, wildcards, NUL bytes, huge values.
var hostileValues = []string{
	"' OR 1=1--", `" OR ""="`, "1; DROP TABLE tickets;--", "1) UNION SELECT password_hash FROM users--",
	`"`, "'", "`", "*", "%", "_", `\`, "\\'", "%' OR '%'='", "a%00b", "\x00", "x\x00' OR 1=1--",
	"NEAR(alice secret)", "NEAR(a b, 0)", "title:alice", "description:secret", "{title description}:x", "-alice", "^alice",
	`"unbalanced`, `alice"`, "((", ")", "a AND NOT b", "a OR", "alice* OR secret*", "!alice & secret", "alice <-> secret",
	"$1", "?", "{}", "[]", "-1", "0", "1e9", "99999999999999999999", "0x10", "NaN", " ", "%20",
	"-created_at, id", "created_at;", "relevance", "RANDOM()", "(SELECT 1)",
	strings.Repeat("a", 600), strings.Repeat("alice ", 2000), strings.Repeat("\u202e", 300),
}

// TestQueryInjection puts hostile values in every query parameter of every
// list endpoint and page, as bob: each answer is 200 or 400 (never an
// error page or a 500), and none holds alice's tickets or chats. The data
// is intact afterwards. Both engines.
func TestQueryInjection(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			// Behind a proxy, so that the login rows come from many addresses.
			e := webtest.New(t, eng.Open(t), webtest.Options{Web: web.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
			alice := e.CreateUser(t, "alice", desk.RoleUser)
			bob := e.CreateUser(t, "bob", desk.RoleUser)
			root := e.CreateUser(t, "root", desk.RoleAdmin)
			for _, title := range []string{"alice secret", "secret alice OR 1", "title: secret"} {
				ticketID(t, e, alice.Access, title+" "+secret)
			}
			e.Stream(t, "/api/events", root.Access) // an agent online: the chat stays a chat
			aliceChat := e.Do(t, "POST", "/api/chat/messages", map[string]any{"body": "Chat " + secret}, alice.Access)
			ticketID(t, e, bob.Access, "bob's own ticket")
			bb := newBrowserless(t, e)
			bb.signIn("bob", bob.Password)
			rb := newBrowserless(t, e)
			rb.signIn("root", root.Password)
			ctx := context.Background()
			count := func() int {
				p, err := e.DB.Tickets(ctx, store.TicketFilter{})
				if err != nil {
					t.Fatal(err)
				}
				return p.Total
			}
			total := count()

			apiParams := map[string][]string{
				"/api/tickets":                         {"search", "ordering", "category", "status", "page", "page_size", "cursor"},
				"/api/chats":                           {"status"},
				"/api/tickets/1/comments":              {"after"},
				"/api/chat":                            {"after"},
				"/api/users":                           {"search", "role", "is_active", "page", "page_size"},
				"/api/chats/" + chatIDOf(t, aliceChat): {"after"},
			}
			pageParams := map[string][]string{
				"/tickets":     {"search", "ordering", "category", "status", "page", "msg"},
				"/admin/users": {"search", "role", "page", "msg"},
				"/login":       {"next", "msg"},
			}
			for _, v := range hostileValues {
				for path, params := range apiParams {
					for _, p := range params {
						q := path + "?" + p + "=" + url.QueryEscape(v)
						token := bob.Access
						if strings.HasPrefix(path, "/api/users") {
							token = root.Access
						}
						r := e.Do(t, "GET", q, nil, token)
						// bob may not see alice's ticket or chat at all (404).
						if r.Status != 200 && r.Status != 400 && !(r.Status == 404 && (strings.Contains(path, "/comments") || strings.HasPrefix(path, "/api/chats/"))) {
							t.Errorf("GET %s: %d %.200s", q, r.Status, r.Body)
						}
						if token == bob.Access && strings.Contains(string(r.Body), secret) {
							t.Errorf("GET %s shows alice's data: %.300s", q, r.Body)
						}
						if res, ok := r.JSON["results"].([]any); ok && path == "/api/tickets" {
							for _, x := range res {
								if x.(map[string]any)["created_by"].(map[string]any)["username"] != "bob" {
									t.Errorf("GET %s lists %v", q, x)
								}
							}
						}
					}
				}
				for path, params := range pageParams {
					for _, p := range params {
						q := path + "?" + p + "=" + url.QueryEscape(v)
						b := bb
						if strings.HasPrefix(path, "/admin") {
							b = rb
						}
						r := b.get(q)
						if r.Status != 200 && r.Status != 400 && !(path == "/login" && r.Status == 303) {
							t.Errorf("GET %s: %d", q, r.Status)
						}
						if b == bb && strings.Contains(r.Body, secret) {
							t.Errorf("GET %s shows alice's data", q)
						}
					}
				}
			}
			// Raw bytes that url.QueryEscape would have encoded.
			for _, raw := range []string{"search=%", "search=%zz", "search=a%00", "ordering=a;b", "search=%E2%80", "page=%FF", "search=" + strings.Repeat("%41", 4000)} {
				if r := e.Do(t, "GET", "/api/tickets?"+raw, nil, bob.Access); r.Status != 200 && r.Status != 400 {
					t.Errorf("GET /api/tickets?%.40s: %d", raw, r.Status)
				}
				if r := bb.get("/tickets?" + raw); r.Status != 200 && r.Status != 400 {
					t.Errorf("GET /tickets?%.40s: %d", raw, r.Status)
				}
			}
			// The same values as login names and refresh tokens: refused
			// (401, 400, or 429 once the address has failed too often), never
			// an error, and nobody is signed in.
			n := 0
			for _, v := range append(hostileValues, "alice\x00", "\xff\xfe", "alice@example.com\x00' OR 1=1--") {
				for _, body := range []map[string]string{{"email": v, "password": alice.Password}, {"username": v, "password": "x"}, {"refresh": v}} {
					path := "/api/auth/login"
					if _, ok := body["refresh"]; ok {
						path = "/api/auth/refresh"
					}
					n++
					if r := e.Do(t, "POST", path, body, "", "X-Forwarded-For", fmt.Sprintf("10.9.%d.%d", n/200, n%200)); r.Status != 401 && r.Status != 400 && r.Status != 429 {
						t.Errorf("POST %s %q: %d %s", path, v, r.Status, r.Body)
					}
				}
			}
			// Browsers' own headers are input too: the User-Agent is stored
			// with the session.
			for _, ua := range []string{"Mozilla \xff\xfe", strings.Repeat("a", 255) + "é", strings.Repeat("é", 300)} {
				b := newBrowserless(t, e)
				tok := b.get("/login").token(t)
				if r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {"bob"}, "password": {bob.Password}}, "User-Agent", ua, "X-Forwarded-For", "10.8.0.1"); r.Status != 303 {
					t.Errorf("sign-in with User-Agent %q: %d", ua, r.Status)
				}
			}
			if n := count(); n != total {
				t.Fatalf("%d tickets after the attack, %d before", n, total)
			}
			if r := e.Do(t, "GET", "/api/tickets?search=secret", nil, alice.Access); r.JSON["count"] != 3.0 {
				t.Fatalf("alice's search after the attack: %s", r.Body)
			}
		})
	}
}

func chatIDOf(t *testing.T, r *webtest.Response) string {
	t.Helper()
	c, ok := r.JSON["chat"].(map[string]any)
	if !ok {
		t.Fatalf("no chat: %d %s", r.Status, r.Body)
	}
	return itoa(int64(c["id"].(float64)))
}

// TestTawkWebhookHostileText: a signed delivery whose strings hold NUL
// bytes and markup is filed on both engines, stored as text.
func TestTawkWebhookHostileText(t *testing.T) {
	t.Parallel()
	body := `{"event":"chat:end","chatId":"c\u0000hat","time":"2024-04-05T12:00:00.000Z","property":{"id":"p","name":"P"},` +
		`"visitor":{"name":"Eve\u0000<script>alert(1)</script>","email":"nobody\u0000@example.com","city":"\u0000","country":"FR"},` +
		`"message":{"text":"hi\u0000there"}}`
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := webtest.New(t, eng.Open(t), webtest.Options{Web: web.Config{TawkWebhookSecret: tawkSecret}})
			r := e.Do(t, "POST", "/api/integrations/tawk", body, "", "Content-Type", "application/json",
				"X-Tawk-Signature", sign(tawkSecret, body), "X-Hook-Event-Id", "ev-nul")
			if r.Status != 201 || strings.Contains(string(r.Body), "<script") {
				t.Fatalf("delivery: %d %s", r.Status, r.Body)
			}
		})
	}
}
