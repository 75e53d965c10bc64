package web

import (
	"log/slog"
	"net/http"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

type tokensJSON struct {
	Access    string    `json:"access"`
	Refresh   string    `json:"refresh"`
	TokenType string    `json:"token_type"`
	ExpiresIn int       `json:"expires_in"`
	User      *userJSON `json:"user,omitempty"`
}

func tokensView(t *app.Tokens, u *desk.User, now time.Time) tokensJSON {
	v := tokensJSON{Access: t.Access, Refresh: t.Refresh, TokenType: "Bearer", ExpiresIn: int(t.AccessExpires.Sub(now).Seconds())}
	if u != nil {
		uv := userView(u)
		v.User = &uv
	}
	return v
}

// handleLogin serves POST /api/auth/login: {email, password} (seed 000) or
// {username, password} (seed 002).
func handleLogin(log *slog.Logger, svc *app.Service, now func() time.Time) http.Handler {
	type request struct {
		Email    string `json:"email"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		login := in.Email
		if login == "" {
			login = in.Username
		}
		if login == "" {
			writeError(w, r, log, desk.Errorf(desk.KindInvalid, "Provide an email or a username, and a password."))
			return
		}
		u, tokens, err := svc.Login(r.Context(), app.Credentials{Login: login, Password: in.Password, IP: ipFrom(r)})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, tokensView(tokens, u, now()))
	})
}

// handleRegister serves POST /api/auth/register. A role in the body is
// ignored: new accounts are always users.
func handleRegister(log *slog.Logger, svc *app.Service) http.Handler {
	type request struct {
		Email     string `json:"email"`
		Username  string `json:"username"`
		Password  string `json:"password"`
		Password2 string `json:"password2"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		u, err := svc.Register(r.Context(), app.RegisterInput{Email: in.Email, Username: in.Username,
			Password: in.Password, Password2: in.Password2, IP: ipFrom(r)})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusCreated, userView(u))
	})
}

// handleRefresh serves POST /api/auth/refresh: a new access token and a
// rotated refresh token.
func handleRefresh(log *slog.Logger, svc *app.Service, now func() time.Time) http.Handler {
	type request struct {
		Refresh string `json:"refresh"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		tokens, err := svc.Refresh(r.Context(), in.Refresh)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, tokensView(tokens, nil, now()))
	})
}

// handleLogout serves POST /api/auth/logout: revokes the refresh token's
// family. With an access token, the refresh token must be the caller's.
func handleLogout(log *slog.Logger, svc *app.Service) http.Handler {
	type request struct {
		Refresh string `json:"refresh"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		if err := svc.Logout(r.Context(), actorFrom(r), in.Refresh); err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"detail": "Logged out."})
	})
}

// handleMe serves GET /api/auth/me and /api/auth/users/me.
func handleMe(log *slog.Logger, svc *app.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := svc.Me(r.Context(), actorFrom(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, userView(u))
	})
}
