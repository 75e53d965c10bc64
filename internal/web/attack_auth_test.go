package web_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

// harnessKey is the JWT key webtest.New gives the server.
var harnessKey = []byte(strings.Repeat("t", 32))

// TestTokenTamperingOverHTTP forges access tokens that would make jane an
// admin and sends them to an admin-only endpoint. package auth tests the
// verifier; this proves the HTTP layer uses it for every way a token can
// arrive. A correctly forged token (the server's own key) is the control.
func TestTokenTamperingOverHTTP(t *testing.T) {
	t.Parallel()
	e := env(t)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	now := e.Clock.Now()
	claims := func(sub int64, tv int64, typ string) jwt.MapClaims {
		return jwt.MapClaims{"sub": strconv.FormatInt(sub, 10), "tv": tv, "typ": typ, "iss": "ticketflow",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	parts := strings.Split(jane.Access, ".")

	control := sign(jwt.SigningMethodHS256, harnessKey, claims(root.ID, 0, "access"))
	if r := e.Do(t, "GET", "/api/users", nil, control); r.Status != 200 {
		t.Fatalf("control token: %d %s", r.Status, r.Body)
	}
	forged := map[string]string{
		"jane's signature, root's claims": parts[0] + "." + b64(claims(root.ID, 0, "access")) + "." + parts[2],
		"alg none":                        b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims(root.ID, 0, "access")) + ".",
		"alg None, signature kept":        b64(map[string]string{"alg": "None"}) + "." + b64(claims(root.ID, 0, "access")) + "." + parts[2],
		"another key":                     sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims(root.ID, 0, "access")),
		"HS512 with the key":              sign(jwt.SigningMethodHS512, harnessKey, claims(root.ID, 0, "access")),
		"stale token version":             sign(jwt.SigningMethodHS256, harnessKey, claims(root.ID, 5, "access")),
		"refresh type":                    sign(jwt.SigningMethodHS256, harnessKey, claims(root.ID, 0, "refresh")),
		"no such user":                    sign(jwt.SigningMethodHS256, harnessKey, claims(999999, 0, "access")),
		"jane's token, signature cut":     parts[0] + "." + parts[1] + ".",
		"jane's token, signature of root": parts[0] + "." + parts[1] + "." + strings.Split(control, ".")[2],
	}
	for name, tok := range forged {
		if r := e.Do(t, "GET", "/api/users", nil, tok); r.Status != 401 {
			t.Errorf("%s: %d", name, r.Status)
		}
	}
	// Tokens are read from the Authorization header only.
	for name, hdr := range map[string][]string{
		"query string":      nil,
		"session cookie":    {"Cookie", "tf_session=" + control},
		"X-Access-Token":    {"X-Access-Token", control},
		"Basic with token":  {"Authorization", "Basic " + control},
		"two schemes":       {"Authorization", "Token Bearer " + control},
		"token in a header": {"Authorization", "Bearer " + jane.Access + " " + control},
	} {
		path := "/api/users"
		if hdr == nil {
			path += "?access_token=" + control + "&token=" + control
		}
		if r := e.Do(t, "GET", path, nil, "", hdr...); r.Status != 401 {
			t.Errorf("token in %s: %d", name, r.Status)
		}
	}
}

// TestRefreshTokenAttacks: a refresh token raced by several clients is
// spent once and its family revoked; one past its lifetime is refused.
func TestRefreshTokenAttacks(t *testing.T) {
	t.Parallel()
	e := env(t, webtest.Options{App: app.Config{RefreshTTL: time.Hour}})
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	const racers = 8
	var wg sync.WaitGroup
	statuses := make([]int, racers)
	tokens := make([]string, racers)
	for i := range racers {
		wg.Go(func() {
			r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": jane.Refresh}, "")
			statuses[i] = r.Status
			tokens[i], _ = r.JSON["refresh"].(string)
		})
	}
	wg.Wait()
	won := ""
	for i, s := range statuses {
		switch s {
		case 200:
			if won != "" {
				t.Fatalf("the same refresh token was spent twice: %v", statuses)
			}
			won = tokens[i]
		case 401:
		default:
			t.Fatalf("racing refreshes: %v", statuses)
		}
	}
	if won == "" {
		t.Fatalf("no refresh succeeded: %v", statuses)
	}
	// The losers were replays: the winner's family is revoked as well.
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": won}, ""); r.Status != 401 {
		t.Fatalf("family survived a replay: %d", r.Status)
	}

	e.Login(t, jane)
	e.Clock.Advance(time.Hour + time.Second)
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": jane.Refresh}, ""); r.Status != 401 {
		t.Fatalf("expired refresh token: %d", r.Status)
	}
	for _, tok := range []string{"", strings.Repeat("A", 43), jane.Refresh + "x", "../../etc/passwd", "' OR 1=1--"} {
		if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": tok}, ""); r.Status != 401 && r.Status != 400 {
			t.Errorf("refresh %q: %d", tok, r.Status)
		}
	}
}

// TestBruteForceThrottled: the sign-in page and registration (API and
// page) answer 429 with Retry-After once their limits are spent, and
// refuse even correct credentials then.
func TestBruteForceThrottled(t *testing.T) {
	t.Parallel()
	e := env(t)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	b := newBrowserless(t, e)
	tok := b.get("/login").token(t)
	login := func(pw string) *pageResp {
		return b.post("/login", url.Values{"csrf_token": {tok}, "login": {"jane@example.com"}, "password": {pw}})
	}
	for i := range 5 {
		if r := login("wrong-password"); r.Status != 401 {
			t.Fatalf("failure %d: %d", i, r.Status)
		}
	}
	r := login(jane.Password)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || b.cookie("tf_session") != nil {
		t.Fatalf("sign-in page after 5 failures: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	// The API shares the limit (it is kept per submitted login name).
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": "JANE@example.com ", "password": jane.Password}, ""); r.Status != 429 {
		t.Fatalf("API after page failures: %d", r.Status)
	}

	// Registrations: ten per address, then 429 on both paths.
	for i := range 10 {
		name := "reg" + strconv.Itoa(i)
		if r := e.Do(t, "POST", "/api/auth/register", map[string]string{"email": name + "@example.com", "username": name,
			"password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, ""); r.Status != 201 {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
	}
	api := e.Do(t, "POST", "/api/auth/register", map[string]string{"email": "more@example.com", "username": "more",
		"password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, "")
	if api.Status != 429 || api.Header.Get("Retry-After") == "" {
		t.Fatalf("eleventh registration: %d, Retry-After %q", api.Status, api.Header.Get("Retry-After"))
	}
	rb := newBrowserless(t, e)
	page := rb.post("/register", url.Values{"csrf_token": {rb.get("/register").token(t)}, "email": {"page@example.com"}, "username": {"page"},
		"password": {"Correct-Horse-42"}, "password2": {"Correct-Horse-42"}})
	if page.Status != 429 || page.Header.Get("Retry-After") == "" || rb.cookie("tf_session") != nil {
		t.Fatalf("registration page over the limit: %d, Retry-After %q", page.Status, page.Header.Get("Retry-After"))
	}
	for _, name := range []string{"more", "page"} {
		if _, err := e.DB.UserByLogin(t.Context(), name); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("%s was registered over the limit", name)
		}
	}
}

// TestSignInPageEnumeration: an unknown account, a wrong password and a
// deactivated account get the same sign-in page (status and body, once the
// per-response nonce, token and echoed login are set aside).
func TestSignInPageEnumeration(t *testing.T) {
	t.Parallel()
	e := env(t)
	e.CreateUser(t, "jane", desk.RoleUser)
	gone := e.CreateUser(t, "gone", desk.RoleUser)
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(gone.ID), map[string]any{"is_active": false}, root.Access); r.Status != 200 {
		t.Fatal(r.Status)
	}
	volatile := regexp.MustCompile(`nonce="[^"]*"|'nonce-[^']*'|name="csrf_token" value="[^"]*"`)
	var first string
	for i, c := range []struct{ login, password string }{
		{"nobody@example.com", "whatever-it-is"},
		{"jane@example.com", "wrong-password"},
		{"nobody", "whatever-it-is"},
		{"jane", "wrong-password"},
		{"gone", gone.Password},
		{"gone@example.com", gone.Password},
	} {
		b := newBrowserless(t, e)
		r := b.post("/login", url.Values{"csrf_token": {b.get("/login").token(t)}, "login": {c.login}, "password": {c.password}})
		body := volatile.ReplaceAllString(strings.ReplaceAll(r.Body, `value="`+c.login+`"`, `value="LOGIN"`), "X")
		if r.Status != http.StatusUnauthorized || b.cookie("tf_session") != nil {
			t.Fatalf("%s: %d", c.login, r.Status)
		}
		if i == 0 {
			first = body
		} else if body != first {
			t.Errorf("%s gets a different page", c.login)
		}
	}
}
