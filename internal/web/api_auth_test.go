package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// env starts a server on a fresh SQLite store.
func env(t *testing.T, opt ...webtest.Options) *webtest.Env {
	t.Helper()
	var o webtest.Options
	if len(opt) > 0 {
		o = opt[0]
	}
	return webtest.New(t, storetest.SQLite(t), o)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	e := env(t)
	good := map[string]any{"email": "nouveau@test.com", "username": "nouveauuser", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}
	// The seed's example, with a role smuggled in: created as a user.
	body := map[string]any{"role": "admin", "is_staff": true, "is_superuser": true, "id": 99}
	for k, v := range good {
		body[k] = v
	}
	r := e.Do(t, "POST", "/api/auth/register/", body, "")
	if r.Status != 201 || r.JSON["role"] != "user" || r.JSON["is_staff"] != false || r.JSON["username"] != "nouveauuser" || r.JSON["id"] == 99.0 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if _, ok := r.JSON["password"]; ok {
		t.Fatal("password echoed")
	}
	// The new account logs in by email (seed 000) and by username (seed 002).
	for _, login := range []map[string]string{{"email": "nouveau@test.com"}, {"username": "NouveauUser"}} {
		login["password"] = "Nouveau123!@#"
		if r := e.Do(t, "POST", "/api/auth/login", login, ""); r.Status != 200 || r.JSON["user"].(map[string]any)["role"] != "user" {
			t.Fatalf("login %v: %d %s", login, r.Status, r.Body)
		}
	}
	tests := []struct {
		name   string
		body   any
		fields []string
	}{
		{"duplicate email (any case)", map[string]any{"email": "NOUVEAU@test.com", "username": "other", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, []string{"email"}},
		{"duplicate username (any case)", map[string]any{"email": "o@test.com", "username": "NOUVEAUUSER", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, []string{"username"}},
		{"mismatch", map[string]any{"email": "a@test.com", "username": "aaa", "password": "Nouveau123!@#", "password2": "Nouveau123!@"}, []string{"password"}},
		{"common password", map[string]any{"email": "a@test.com", "username": "aaa", "password": "password123", "password2": "password123"}, []string{"password"}},
		{"short password", map[string]any{"email": "a@test.com", "username": "aaa", "password": "Ab1!", "password2": "Ab1!"}, []string{"password"}},
		{"missing everything", map[string]any{}, []string{"email", "username", "password"}},
		{"missing password2", map[string]any{"email": "a@test.com", "username": "aaa", "password": "Nouveau123!@#"}, []string{"password2"}},
		{"bad email and username", map[string]any{"email": "not-an-email", "username": "a b", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}, []string{"email", "username"}},
		{"wrong type", map[string]any{"email": 5}, []string{"email"}},
	}
	for _, tt := range tests {
		r := e.Do(t, "POST", "/api/auth/register", tt.body, "")
		if r.Status != 400 {
			t.Errorf("%s: status %d %s", tt.name, r.Status, r.Body)
			continue
		}
		for _, f := range tt.fields {
			msgs, ok := r.JSON[f].([]any)
			if !ok || len(msgs) == 0 {
				t.Errorf("%s: no %q error in %s", tt.name, f, r.Body)
			}
		}
	}
	for _, raw := range []string{"{", "[]", `{"email":"a"} {"x":1}`, ""} {
		if r := e.Do(t, "POST", "/api/auth/register", raw, "", "Content-Type", "application/json"); r.Status != 400 || r.JSON["detail"] == nil {
			t.Errorf("malformed %q: %d %s", raw, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "POST", "/api/auth/register", "email=a", "", "Content-Type", "text/xml"); r.Status != 415 {
		t.Errorf("xml body: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/register", `{"email":"`+strings.Repeat("x", 2<<20)+`"}`, "", "Content-Type", "application/json"); r.Status != 413 {
		t.Errorf("oversize body: %d", r.Status)
	}
}

func TestRegistrationModes(t *testing.T) {
	t.Parallel()
	closed := env(t, webtest.Options{App: app.Config{Registration: app.RegistrationClosed}})
	body := map[string]any{"email": "a@corp.example", "username": "aaa", "password": "Nouveau123!@#", "password2": "Nouveau123!@#"}
	if r := closed.Do(t, "POST", "/api/auth/register", body, ""); r.Status != 403 {
		t.Errorf("closed: %d %s", r.Status, r.Body)
	}
	dom := env(t, webtest.Options{App: app.Config{Registration: app.RegistrationDomains, AllowedDomains: []string{"@Corp.Example"}}})
	if r := dom.Do(t, "POST", "/api/auth/register", body, ""); r.Status != 201 {
		t.Errorf("allowed domain: %d %s", r.Status, r.Body)
	}
	body["email"], body["username"] = "b@gmail.com", "bbb"
	if r := dom.Do(t, "POST", "/api/auth/register", body, ""); r.Status != 400 || r.JSON["email"] == nil {
		t.Errorf("other domain: %d %s", r.Status, r.Body)
	}
	body["email"] = "b@sub.corp.example"
	if r := dom.Do(t, "POST", "/api/auth/register", body, ""); r.Status != 400 {
		t.Errorf("subdomain: %d %s", r.Status, r.Body)
	}
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	off := e.CreateUser(t, "gone", desk.RoleUser)
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(off.ID), map[string]any{"is_active": false}, admin.Access); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	attempts := []map[string]string{
		{"email": "nobody@example.com", "password": "whatever-it-is"},
		{"email": u.Email, "password": "wrong-password"},
		{"username": "nobody", "password": "whatever-it-is"},
		{"username": "gone", "password": off.Password}, // right password, inactive account
	}
	var first string
	for i, a := range attempts {
		r := e.Do(t, "POST", "/api/auth/login", a, "")
		if r.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
		if i == 0 {
			first = string(r.Body)
		} else if string(r.Body) != first {
			t.Errorf("attempt %d differs: %s vs %s", i, r.Body, first)
		}
	}
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"password": "x"}, ""); r.Status != 400 {
		t.Errorf("no login name: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": u.Email}, ""); r.Status != 400 || r.JSON["password"] == nil {
		t.Errorf("no password: %d %s", r.Status, r.Body)
	}
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	// Five failures for one account, then 429 with Retry-After even with the
	// right password; other accounts are unaffected.
	for i := range 5 {
		if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": u.Email, "password": "nope"}, ""); r.Status != 401 {
			t.Fatalf("failure %d: %d", i, r.Status)
		}
	}
	r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": u.Email, "password": u.Password}, "")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("locked account: %d %q", r.Status, r.Header.Get("Retry-After"))
	}
	// The same limit applies to an unknown account (no enumeration by 429).
	for range 5 {
		e.Do(t, "POST", "/api/auth/login", map[string]string{"email": "ghost@example.com", "password": "nope"}, "")
	}
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": "ghost@example.com", "password": "nope"}, ""); r.Status != 429 {
		t.Fatalf("unknown account not throttled: %d", r.Status)
	}
	// Tokens refill with time.
	e.Clock.Advance(2 * time.Minute)
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": u.Email, "password": u.Password}, ""); r.Status != 200 {
		t.Fatalf("after waiting: %d %s", r.Status, r.Body)
	}
	// Per IP: twenty failures across many accounts block the address.
	for i := range 20 {
		e.Do(t, "POST", "/api/auth/login", map[string]string{"email": "x" + itoa(int64(i)) + "@example.com", "password": "nope"}, "")
	}
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"email": u.Email, "password": u.Password}, ""); r.Status != 429 {
		t.Fatalf("IP not throttled: %d", r.Status)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := env(t)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	for _, path := range []string{"/api/auth/me", "/api/auth/users/me/"} {
		r := e.Do(t, "GET", path, nil, u.Access)
		if r.Status != 200 || r.JSON["username"] != "jane" || r.JSON["email"] != "jane@example.com" || r.JSON["role"] != "user" ||
			r.JSON["is_active"] != true || r.JSON["date_joined"] == nil {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	// Refresh rotates; the old refresh token is then spent, and replaying it
	// revokes the new one too.
	r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Refresh}, "")
	if r.Status != 200 || r.JSON["access"] == "" || r.JSON["refresh"] == u.Refresh {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	next := r.JSON["refresh"].(string)
	if r := e.Do(t, "GET", "/api/auth/me", nil, r.JSON["access"].(string)); r.Status != 200 {
		t.Fatalf("refreshed access: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Refresh}, ""); r.Status != 401 {
		t.Fatalf("reused refresh: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": next}, ""); r.Status != 401 {
		t.Fatalf("family survived reuse: %d", r.Status)
	}
	// A refresh token is not an access token, and vice versa.
	e.Login(t, u)
	if r := e.Do(t, "GET", "/api/auth/me", nil, u.Refresh); r.Status != 401 {
		t.Fatalf("refresh as access: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Access}, ""); r.Status != 401 {
		t.Fatalf("access as refresh: %d", r.Status)
	}
	// Logout revokes the refresh token; another user cannot log it out.
	other := e.CreateUser(t, "bob", desk.RoleUser)
	if r := e.Do(t, "POST", "/api/auth/logout", map[string]string{"refresh": u.Refresh}, other.Access); r.Status != 401 {
		t.Fatalf("logout of another's token: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/logout/", map[string]string{"refresh": u.Refresh}, u.Access); r.Status != 200 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Refresh}, ""); r.Status != 401 {
		t.Fatalf("refresh after logout: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/logout", map[string]string{}, ""); r.Status != 400 {
		t.Fatalf("logout without token: %d", r.Status)
	}
	// Access tokens expire.
	e.Login(t, u)
	e.Clock.Advance(16 * time.Minute)
	if r := e.Do(t, "GET", "/api/auth/me", nil, u.Access); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("expired access: %d", r.Status)
	}
	// Malformed Authorization headers.
	for _, h := range []string{"Bearer", "Bearer ", "Basic amFuZTpwdw==", "Token " + u.Access, u.Access, "Bearer a.b.c"} {
		if r := e.Do(t, "GET", "/api/auth/me", nil, "", "Authorization", h); r.Status != 401 {
			t.Errorf("Authorization %q: %d", h, r.Status)
		}
	}
	// A bad token on a public endpoint does not get in the way.
	if r := e.Do(t, "POST", "/api/auth/login", map[string]string{"username": "jane", "password": u.Password}, "garbage"); r.Status != 200 {
		t.Errorf("login with a stale token header: %d", r.Status)
	}
}

func TestDeactivationAndRoleChangesTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := env(t)
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	// Promotion: the old token stops working (token version), a new login is admin.
	r := e.Do(t, "PATCH", "/api/users/"+itoa(u.ID), map[string]any{"role": "admin"}, admin.Access)
	if r.Status != 200 || r.JSON["role"] != "admin" {
		t.Fatalf("promote: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/api/users", nil, u.Access); r.Status != 401 {
		t.Fatalf("pre-promotion token still valid: %d", r.Status)
	}
	e.Login(t, u)
	if r := e.Do(t, "GET", "/api/users", nil, u.Access); r.Status != 200 {
		t.Fatalf("promoted user: %d", r.Status)
	}
	// Refresh still works after a role change and yields a current token.
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Refresh}, ""); r.Status != 200 {
		t.Fatalf("refresh after role change: %d", r.Status)
	} else if r := e.Do(t, "GET", "/api/auth/me", nil, r.JSON["access"].(string)); r.Status != 200 || r.JSON["role"] != "admin" {
		t.Fatalf("refreshed token: %d %s", r.Status, r.Body)
	}
	e.Login(t, u)
	// Deactivation: access and refresh tokens die at once.
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(u.ID), map[string]any{"is_active": false}, admin.Access); r.Status != 200 || r.JSON["is_active"] != false {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/api/auth/me", nil, u.Access); r.Status != 401 {
		t.Fatalf("deactivated access token: %d", r.Status)
	}
	if r := e.Do(t, "POST", "/api/auth/refresh", map[string]string{"refresh": u.Refresh}, ""); r.Status != 401 {
		t.Fatalf("deactivated refresh token: %d", r.Status)
	}
	// Reactivation lets them log in again.
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(u.ID)+"/", map[string]any{"is_active": true}, admin.Access); r.Status != 200 {
		t.Fatalf("reactivate: %d", r.Status)
	}
	e.Login(t, u)
}

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	e := env(t)
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	u := e.CreateUser(t, "jane", desk.RoleUser)
	e.CreateUser(t, "bob", desk.RoleUser)
	r := e.Do(t, "GET", "/api/users?page_size=2", nil, admin.Access)
	if r.Status != 200 || r.JSON["count"] != 3.0 || len(r.JSON["results"].([]any)) != 2 || r.JSON["next"] == nil {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/api/users?role=admin", nil, admin.Access); r.JSON["count"] != 1.0 {
		t.Fatalf("role filter: %s", r.Body)
	}
	if r := e.Do(t, "GET", "/api/users?search=JAN", nil, admin.Access); r.JSON["count"] != 1.0 {
		t.Fatalf("search: %s", r.Body)
	}
	if r := e.Do(t, "GET", "/api/users?role=superuser", nil, admin.Access); r.Status != 400 {
		t.Fatalf("bad role filter: %d", r.Status)
	}
	if r := e.Do(t, "GET", "/api/users/"+itoa(u.ID), nil, admin.Access); r.Status != 200 || r.JSON["username"] != "jane" {
		t.Fatalf("get: %d", r.Status)
	}
	for _, p := range []string{"/api/users/999999", "/api/users/abc", "/api/users/-1"} {
		if r := e.Do(t, "GET", p, nil, admin.Access); r.Status != 404 {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(u.ID), map[string]any{"role": "superuser"}, admin.Access); r.Status != 400 {
		t.Fatalf("bad role: %d", r.Status)
	}
	// The last active admin can neither demote nor deactivate themselves.
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(admin.ID), map[string]any{"role": "user"}, admin.Access); r.Status != 409 {
		t.Fatalf("demote last admin: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "PATCH", "/api/users/"+itoa(admin.ID), map[string]any{"is_active": false}, admin.Access); r.Status != 409 {
		t.Fatalf("deactivate last admin: %d", r.Status)
	}
	// Users cannot promote themselves or anyone, nor list users.
	for _, c := range []struct{ method, path string }{{"GET", "/api/users"}, {"GET", "/api/users/" + itoa(u.ID)},
		{"PATCH", "/api/users/" + itoa(u.ID)}, {"PATCH", "/api/users/" + itoa(admin.ID)}} {
		if r := e.Do(t, c.method, c.path, map[string]any{"role": "admin"}, u.Access); r.Status != 403 {
			t.Errorf("user %s %s: %d", c.method, c.path, r.Status)
		}
		if r := e.Do(t, c.method, c.path, map[string]any{"role": "admin"}, ""); r.Status != 401 {
			t.Errorf("anonymous %s %s: %d", c.method, c.path, r.Status)
		}
	}
	if r := e.Do(t, "GET", "/api/auth/me", nil, u.Access); r.JSON["role"] != "user" {
		t.Fatalf("user became %v", r.JSON["role"])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
