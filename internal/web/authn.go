package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/desk"
)

// sessionCookie names the browser session cookie.
const sessionCookie = "tf_session"

// optionalUser resolves the request's user from a Bearer access token or,
// failing that, the session cookie. It never rejects a request itself: the
// failure is kept for requireUser, so public endpoints ignore stale tokens.
func optionalUser(svc *app.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if actorFrom(r) != nil {
			next.ServeHTTP(w, r)
			return
		}
		var u *desk.User
		var err error
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				err = app.ErrNotAuthenticated
			} else {
				u, err = svc.Authenticate(ctx, strings.TrimSpace(token))
			}
		} else if c, cerr := r.Cookie(sessionCookie); cerr == nil {
			var csrf string
			u, csrf, err = svc.SessionUser(ctx, c.Value)
			if err == nil {
				ctx = context.WithValue(ctx, keyCSRF, csrf)
				ctx = context.WithValue(ctx, keyViaCookie, true)
			}
		}
		if u != nil {
			ctx = context.WithValue(ctx, keyActor, u)
		} else if err != nil {
			ctx = context.WithValue(ctx, keyAuthErr, err)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// csrfFrom returns the session's CSRF token ("" for token-authenticated
// requests).
func csrfFrom(r *http.Request) string {
	s, _ := r.Context().Value(keyCSRF).(string)
	return s
}

// viaCookie reports whether the request was authenticated by the session
// cookie (and so needs CSRF protection on unsafe methods).
func viaCookie(r *http.Request) bool {
	b, _ := r.Context().Value(keyViaCookie).(bool)
	return b
}

// requireUser lets only authenticated, active users through. A request
// authenticated by cookie must also carry the session's CSRF token in the
// X-CSRF-Token header on unsafe methods.
func requireUser(svc *app.Service, log *slog.Logger, next http.Handler) http.Handler {
	return optionalUser(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if actorFrom(r) == nil {
			err, _ := r.Context().Value(keyAuthErr).(error)
			if err == nil || desk.ErrorKind(err) != desk.KindUnavailable {
				err = app.ErrNotAuthenticated
			}
			writeError(w, r, log, err)
			return
		}
		if viaCookie(r) && !isSafeMethod(r.Method) && !auth.EqualTokens(r.Header.Get("X-CSRF-Token"), csrfFrom(r)) {
			writeError(w, r, log, errCSRF)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// requireAdmin lets only active admins through (403 for other users).
func requireAdmin(svc *app.Service, log *slog.Logger, next http.Handler) http.Handler {
	return requireUser(svc, log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !actorFrom(r).IsAdmin() {
			writeError(w, r, log, desk.Errorf(desk.KindForbidden, "You do not have permission to perform this action."))
			return
		}
		next.ServeHTTP(w, r)
	}))
}
