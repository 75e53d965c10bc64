package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

//go:embed templates/*.html
var templateFS embed.FS

// ui is what every page handler shares: the service, the parsed templates,
// the hashed static assets and the page-level configuration. It is built
// once by NewServer and never changed.
type ui struct {
	log     *slog.Logger
	svc     *app.Service
	views   map[string]*template.Template // page name → layout + page
	assets  *assets
	tawk    *tawk // nil: no chat widget, no third-party script
	baseURL string
	csrfKey []byte // signs pre-session form tokens
	origin  *http.CrossOriginProtection
	now     func() time.Time
}

// newUI parses every template once. A template error is a programming
// error caught by any test, so it panics.
func newUI(cfg Config, log *slog.Logger, svc *app.Service) *ui {
	a := newAssets()
	funcs := template.FuncMap{
		"asset": a.url,
		"bytes": humanBytes,
		"when":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"slug":  func(s any) string { return strings.ToLower(strings.ReplaceAll(toString(s), " ", "-")) },
	}
	// Files named _*.html hold partials every page may use.
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	views := map[string]*template.Template{}
	for _, e := range names {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		views[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+e.Name()))
	}
	u := &ui{log: log, svc: svc, views: views, assets: a, tawk: newTawk(cfg), baseURL: cfg.BaseURL,
		csrfKey: deriveKey(cfg.URLKey, "pre-session form tokens"), origin: http.NewCrossOriginProtection(), now: cfg.Now}
	u.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, errFormCSRF)
	}))
	return u
}

func toString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case desk.Status:
		return string(s)
	case desk.Priority:
		return string(s)
	case desk.Category:
		return string(s)
	}
	return ""
}

// layout is the part of every view the page frame needs.
type layout struct {
	Title       string
	Nonce       string
	User        *desk.User // nil when signed out
	CSRF        string     // the token every state-changing form carries
	Flash       string     // a confirmation from a fixed list (see flashes)
	Nav         string     // which navigation entry is current
	Tawk        *tawkView
	CanRegister bool
	// ChatLauncher shows the support chat launcher and panel: signed-in
	// users who are not admins (admins answer chats in the inbox), except
	// on the chat page itself and when the Tawk.to widget is the chat.
	ChatLauncher bool
}

// view is what templates execute on: the frame and the page's own data.
type view struct {
	Layout layout
	Data   any
}

// page returns the frame of a page for r's user.
func (u *ui) page(r *http.Request, title, nav string) layout {
	actor := actorFrom(r)
	l := layout{Title: title, Nav: nav, User: actor, CSRF: csrfFrom(r), Nonce: newNonce(),
		Flash: flashes[r.URL.Query().Get("msg")], CanRegister: u.svc.Config().Registration != app.RegistrationClosed}
	l.ChatLauncher = actor != nil && !actor.IsAdmin() && u.tawk == nil && nav != "chat"
	if u.tawk != nil {
		l.Tawk = u.tawk.view(actor, r.URL.Query().Get("signed_out") == "1")
	}
	return l
}

// flashes are the confirmations a redirect may ask a page to show
// (?msg=…). Only these fixed texts can appear, so the parameter cannot
// inject anything.
var flashes = map[string]string{
	"created":    "Your ticket was created.",
	"status":     "The status was changed.",
	"user":       "The account was updated.",
	"signed_out": "You are signed out.",
	"registered": "Welcome! Your account is ready.",
	"replied":    "Your reply was posted.",
	"noted":      "Your internal note was added.",
	"chat_offline": "No agent was online, so your chat became this ticket. " +
		"The transcript is attached; we will answer here.",
	"converted":   "The chat became this ticket; its transcript is attached.",
	"chat_closed": "The chat was closed.",
	"prefs":       "Your notification settings were saved.",
	"retried":     "The mail will be sent again.",
}

func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// render executes a page into a buffer (so a template error becomes a clean
// 500, not half a page) and writes it with the page security headers.
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, name string, l layout, data any) {
	var buf bytes.Buffer
	t, ok := u.views[name]
	if !ok {
		panic("web: no template " + name)
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", view{Layout: l, Data: data}); err != nil {
		u.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "Internal server error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", u.pageCSP(l.Nonce))
	h.Set("X-Frame-Options", "DENY")
	h.Add("Vary", "Cookie")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// pageCSP is the policy of every HTML page: scripts only with this
// response's nonce, styles and everything else from this origin, nothing
// may frame the page, forms post only here. The Tawk.to hosts are added
// only when the widget is configured. Attachments are framed (PDF) from
// 'self', so frame-src allows it.
func (u *ui) pageCSP(nonce string) string {
	src := map[string][]string{
		"script-src":  {"'nonce-" + nonce + "'"},
		"style-src":   {"'self'"},
		"img-src":     {"'self'"},
		"font-src":    {"'self'"},
		"connect-src": {"'self'"},
		"frame-src":   {"'self'"},
	}
	if u.tawk != nil {
		u.tawk.allow(src)
	}
	var b strings.Builder
	b.WriteString("default-src 'none'")
	for _, d := range []string{"script-src", "style-src", "img-src", "font-src", "connect-src", "frame-src"} {
		b.WriteString("; " + d + " " + strings.Join(src[d], " "))
	}
	b.WriteString("; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	return b.String()
}

// humanBytes formats a size for people: 512 B, 1.5 KB, 2.3 MB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return itoa(int(n)) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := strings.TrimSuffix(strings.TrimRight(formatFloat1(v), "0"), ".")
	return s + " " + string("KMGT"[exp]) + "B"
}

func formatFloat1(v float64) string {
	whole := int64(v)
	tenth := int64((v-float64(whole))*10 + 0.5)
	if tenth == 10 {
		whole, tenth = whole+1, 0
	}
	return itoa(int(whole)) + "." + itoa(int(tenth))
}
