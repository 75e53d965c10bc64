package web

import (
	"net/http"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// handleHome serves GET /: the ticket list when signed in, else sign-in.
func handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if actorFrom(r) != nil {
			http.Redirect(w, r, "/tickets", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// authForm is the data of the sign-in and registration pages. Values are
// what the user typed (never the password), Errors the messages per field
// ("" for the form as a whole).
type authForm struct {
	Token    string
	Next     string
	Values   map[string]string
	Errors   map[string][]string
	Message  string // form-level error
	Closed   bool   // registration is turned off
	Domains  []string
	MinChars int
}

func formErrors(err error) (map[string][]string, string) {
	e := unwrapErr(err)
	if e == nil {
		return nil, ""
	}
	if len(e.Fields) > 0 {
		return e.Fields, ""
	}
	return nil, e.Message
}

// handleLoginPage serves GET /login (signed-in users go on to next).
func handleLoginPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.URL.Query().Get("next"), "")
		if actorFrom(r) != nil {
			http.Redirect(w, r, safeNext(next, "/tickets"), http.StatusSeeOther)
			return
		}
		f := authForm{Token: u.preSessionToken(w, r), Next: next}
		u.render(w, r, http.StatusOK, "login", u.page(r, "Sign in", "login"), f)
	})
}

// handleLoginSubmit serves POST /login: a new session and a redirect to
// next, or the form again with the error and the login kept.
func handleLoginSubmit(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			u.renderError(w, r, formReadError(err))
			return
		}
		next := safeNext(r.PostForm.Get("next"), "")
		login := strings.TrimSpace(r.PostForm.Get("login"))
		f := authForm{Next: next, Values: map[string]string{"login": login}}
		var err error
		if !u.validPreSession(r, r.PostForm.Get(csrfField)) {
			err = errFormCSRF
		} else {
			var ws *app.WebSession
			_, ws, err = u.svc.StartSession(r.Context(), app.Credentials{Login: login, Password: r.PostForm.Get("password"), IP: ipFrom(r)}, r.UserAgent())
			if err == nil {
				u.setSessionCookie(w, r, ws)
				http.Redirect(w, r, safeNext(next, "/tickets"), http.StatusSeeOther)
				return
			}
		}
		if e := unwrapErr(err); e == nil || e.Kind == desk.KindInternal || e.Kind == desk.KindUnavailable {
			u.renderError(w, r, err)
			return
		}
		setRetryAfter(w, err)
		f.Errors, f.Message = formErrors(err)
		if f.Errors["email"] != nil { // the service names the login field after the seeds' API
			f.Errors["login"] = f.Errors["email"]
		}
		f.Token = u.preSessionToken(w, r)
		u.render(w, r, statusOf(desk.ErrorKind(err)), "login", u.page(r, "Sign in", "login"), f)
	})
}

// handleRegisterPage serves GET /register; when registration is closed it
// says so (403) instead of showing a form.
func handleRegisterPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if actorFrom(r) != nil {
			http.Redirect(w, r, "/tickets", http.StatusSeeOther)
			return
		}
		f := u.registerForm(w, r)
		status := http.StatusOK
		if f.Closed {
			status = http.StatusForbidden
		}
		u.render(w, r, status, "register", u.page(r, "Create an account", "register"), f)
	})
}

func (u *ui) registerForm(w http.ResponseWriter, r *http.Request) authForm {
	cfg := u.svc.Config()
	f := authForm{Closed: cfg.Registration == app.RegistrationClosed, MinChars: max(cfg.PasswordMinLength, 8)}
	if cfg.Registration == app.RegistrationDomains {
		f.Domains = cfg.AllowedDomains
	}
	if !f.Closed {
		f.Token = u.preSessionToken(w, r)
	}
	return f
}

// handleRegisterSubmit serves POST /register: the account, a session and
// a redirect to the ticket list; or the form again with the errors.
func handleRegisterSubmit(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			u.renderError(w, r, formReadError(err))
			return
		}
		in := app.RegisterInput{Email: r.PostForm.Get("email"), Username: r.PostForm.Get("username"),
			Password: r.PostForm.Get("password"), Password2: r.PostForm.Get("password2"), IP: ipFrom(r)}
		var err error
		if !u.validPreSession(r, r.PostForm.Get(csrfField)) {
			err = errFormCSRF
		} else {
			var ws *app.WebSession
			_, ws, err = u.svc.RegisterAndStartSession(r.Context(), in, r.UserAgent())
			if err == nil {
				u.setSessionCookie(w, r, ws)
				http.Redirect(w, r, "/tickets?msg=registered", http.StatusSeeOther)
				return
			}
		}
		if e := unwrapErr(err); e == nil || e.Kind == desk.KindInternal || e.Kind == desk.KindUnavailable {
			u.renderError(w, r, err)
			return
		}
		setRetryAfter(w, err)
		f := u.registerForm(w, r)
		f.Values = map[string]string{"email": in.Email, "username": in.Username}
		f.Errors, f.Message = formErrors(err)
		u.render(w, r, statusOf(desk.ErrorKind(err)), "register", u.page(r, "Create an account", "register"), f)
	})
}

// handleLogoutSubmit serves POST /logout (with the session's CSRF token): ends
// the session and shows the sign-in page, which also ends any chat.
func handleLogoutSubmit(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if err := u.svc.EndSession(r.Context(), c.Value); err != nil {
				u.renderError(w, r, err)
				return
			}
		}
		u.clearCookie(w, r, sessionCookie)
		http.Redirect(w, r, "/login?msg=signed_out&signed_out=1", http.StatusSeeOther)
	})
}
