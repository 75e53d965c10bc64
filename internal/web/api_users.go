package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// pathID parses the {id} path value; anything but a positive integer is a
// missing object.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, desk.ErrNotFound
	}
	return id, nil
}

// handleUserList serves GET /api/users (admins).
func handleUserList(log *slog.Logger, svc *app.Service, baseURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, size := pageQuery(q)
		users, total, err := svc.Users(r.Context(), actorFrom(r), app.UserQuery{Search: q.Get("search"), Role: q.Get("role"),
			Active: q.Get("is_active"), Page: page, PageSize: size})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		out := listJSON[userJSON]{Count: total, Results: make([]userJSON, 0, len(users))}
		for i := range users {
			out.Results = append(out.Results, userView(&users[i]))
		}
		linkPages(&out, r, baseURL, page, size)
		writeJSON(w, http.StatusOK, out)
	})
}

// handleUserGet serves GET /api/users/{id} (admins).
func handleUserGet(log *slog.Logger, svc *app.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			var u *desk.User
			if u, err = svc.User(r.Context(), actorFrom(r), id); err == nil {
				writeJSON(w, http.StatusOK, userView(u))
				return
			}
		}
		writeError(w, r, log, err)
	})
}

// handleUserUpdate serves PATCH /api/users/{id} {role?, is_active?} (admins).
func handleUserUpdate(log *slog.Logger, svc *app.Service) http.Handler {
	type request struct {
		Role     *string `json:"role"`
		IsActive *bool   `json:"is_active"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		u, err := svc.UpdateUser(r.Context(), actorFrom(r), id, app.UserChange{Role: in.Role, Active: in.IsActive})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, userView(u))
	})
}
