package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/desk"
)

// Browser sessions and CSRF.
//
// A signed-in browser holds the tf_session cookie (HttpOnly, SameSite=Lax,
// Secure over HTTPS); every state-changing form carries the session's CSRF
// token in the csrf_token field, compared in constant time.
//
// The sign-in and registration forms are posted before any session exists,
// so they use a signed double-submit token instead: the page sets a random
// pre-session cookie (HttpOnly; named __Host-tf_pre over HTTPS so that a
// sibling subdomain cannot plant one) and puts HMAC(key, cookie) in the
// form. Another site can neither read the cookie nor compute the HMAC, so it
// cannot forge the pair. A successful sign-in replaces the pre-session
// cookie with a brand-new session (no fixation).
//
// Page POSTs also pass through http.CrossOriginProtection, which refuses
// cross-origin requests by their Sec-Fetch-Site or Origin header: a second,
// independent defence.

const (
	csrfField      = "csrf_token"
	preCookie      = "tf_pre"
	preCookieHTTPS = "__Host-tf_pre"
	maxFormBytes   = 64 << 10
)

// secure reports whether cookies for r must be Secure.
func (u *ui) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(u.baseURL, "https://")
}

// setSessionCookie stores a new browser session. Max-Age (which browsers
// prefer to Expires) is counted on the service clock, like the session.
func (u *ui) setSessionCookie(w http.ResponseWriter, r *http.Request, ws *app.WebSession) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ws.Token, Path: "/", Expires: ws.Expires,
		MaxAge: int(ws.Expires.Sub(u.now()).Seconds()), HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteLaxMode})
	u.clearCookie(w, r, u.preCookieName(r))
}

func (u *ui) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteLaxMode})
}

// session resolves the signed-in user from the session cookie only (pages
// never accept bearer tokens). A cookie that no longer names an active
// session is cleared. Only cross-origin unsafe requests are refused here.
func (u *ui) session(next http.Handler) http.Handler {
	return u.origin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, csrf, err := u.svc.SessionUser(r.Context(), c.Value)
		switch {
		case err == nil:
			ctx := context.WithValue(r.Context(), keyActor, user)
			ctx = context.WithValue(ctx, keyCSRF, csrf)
			r = r.WithContext(ctx)
		case desk.IsKind(err, desk.KindUnauthenticated):
			u.clearCookie(w, r, sessionCookie)
		default:
			u.renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// pagePublic serves a page anyone may see, knowing who is signed in.
func (u *ui) pagePublic(h http.Handler) http.Handler { return u.session(h) }

// pageUser serves a page for signed-in users; others are sent to the
// sign-in page, which brings them back here (GET) afterwards.
func (u *ui) pageUser(h http.Handler) http.Handler {
	return u.session(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if actorFrom(r) == nil {
			target := "/login"
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// pageAdmin serves a page for admins; other signed-in users get a 403 page.
func (u *ui) pageAdmin(h http.Handler) http.Handler {
	return u.pageUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !actorFrom(r).IsAdmin() {
			u.renderError(w, r, desk.Errorf(desk.KindForbidden, "This page is for administrators."))
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// form parses a urlencoded form (capped) and refuses it unless its
// csrf_token matches the session's. Use inside pageUser or pageAdmin.
func (u *ui) form(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			u.renderError(w, r, formReadError(err))
			return
		}
		if !u.validCSRF(r, r.PostForm.Get(csrfField)) {
			u.renderError(w, r, errFormCSRF)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// validCSRF compares a submitted token with the session's.
func (u *ui) validCSRF(r *http.Request, token string) bool {
	want := csrfFrom(r)
	return want != "" && token != "" && auth.EqualTokens(token, want)
}

var errFormCSRF = desk.Errorf(desk.KindForbidden,
	"This form has expired or was not sent from TicketFlow. Go back, reload the page and try again.")

// preCookieName is the pre-session cookie's name for r.
func (u *ui) preCookieName(r *http.Request) string {
	if u.secure(r) {
		return preCookieHTTPS
	}
	return preCookie
}

// preSessionToken returns the token for a sign-in or registration form,
// setting the pre-session cookie if the browser has none yet.
func (u *ui) preSessionToken(w http.ResponseWriter, r *http.Request) string {
	name := u.preCookieName(r)
	c, err := r.Cookie(name)
	value := ""
	if err == nil && len(c.Value) == 43 {
		value = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		value = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: 12 * 3600,
			HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteLaxMode})
	}
	return u.preTokenFor(value)
}

func (u *ui) preTokenFor(cookie string) string {
	m := hmac.New(sha256.New, u.csrfKey)
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validPreSession checks a pre-session form's token against the cookie.
func (u *ui) validPreSession(r *http.Request, token string) bool {
	c, err := r.Cookie(u.preCookieName(r))
	if err != nil || len(c.Value) != 43 || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(u.preTokenFor(c.Value)))
}

// deriveKey derives a purpose-specific key from a master key, or makes a
// random one (valid for this process only) when there is none.
func deriveKey(master []byte, purpose string) []byte {
	if len(master) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("ticketflow/" + purpose))
	return m.Sum(nil)
}

// safeNext returns next if it is a path on this site, else fallback. It
// refuses anything a browser could read as another origin: "//host",
// "/\host", schemes, user info, backslashes, control characters, and the
// same tricks percent-encoded.
func safeNext(next, fallback string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return fallback
	}
	if strings.ContainsAny(next, "\\") || strings.HasPrefix(next, "//") {
		return fallback
	}
	for _, r := range next {
		if r < 0x21 || r == 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	// A decoded path must not turn into "//" or "/\" either.
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return fallback
	}
	if lower := strings.ToLower(next); strings.Contains(lower, "%5c") || strings.HasPrefix(lower, "/%2f") {
		return fallback
	}
	return next
}

// formReadError is why a form body could not be read: too large (413) or
// malformed (400).
func formReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return desk.Wrap(desk.KindTooLarge, err, "The form is too large.")
	}
	return desk.Wrap(desk.KindInvalid, err, "The form could not be read.")
}
