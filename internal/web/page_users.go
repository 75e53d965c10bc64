package web

import (
	"net/http"
	"net/url"
	"strconv"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// usersView is the data of the admin users page.
type usersView struct {
	Users            []desk.User
	Search, Role     string
	Total            int
	Page, Pages      int
	PrevURL, NextURL string
	Message          string // why the last change was refused
	Errors           map[string][]string
}

const usersPageSize = 50

func (u *ui) usersPage(r *http.Request, q url.Values) (*usersView, error) {
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	v := &usersView{Search: q.Get("search"), Role: q.Get("role"), Page: page}
	users, total, err := u.svc.Users(r.Context(), actorFrom(r), app.UserQuery{Search: v.Search, Role: v.Role, Page: page, PageSize: usersPageSize})
	if err != nil {
		return v, err
	}
	v.Users, v.Total = users, total
	v.Pages = max((total+usersPageSize-1)/usersPageSize, 1)
	link := func(p int) string {
		q2 := url.Values{"page": {itoa(p)}}
		if v.Search != "" {
			q2.Set("search", v.Search)
		}
		if v.Role != "" {
			q2.Set("role", v.Role)
		}
		return "/admin/users?" + q2.Encode()
	}
	if page > 1 {
		v.PrevURL = link(page - 1)
	}
	if page*usersPageSize < total {
		v.NextURL = link(page + 1)
	}
	return v, nil
}

// handleUsersPage serves GET /admin/users (admins).
func handleUsersPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := u.usersPage(r, r.URL.Query())
		status := http.StatusOK
		if desk.IsKind(err, desk.KindInvalid) {
			v.Errors, _ = formErrors(err)
			status = http.StatusBadRequest
		} else if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, status, "users", u.page(r, "Users", "users"), v)
	})
}

// handleUserUpdatePage serves POST /admin/users/{id} (admins, CSRF checked
// by form): role=admin|user and/or active=true|false. A refusal (the last
// active admin, for one) is shown on the users page. An admin who demotes
// or deactivates themselves is sent on to whatever they may still see.
func handleUserUpdatePage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		var c app.UserChange
		if role := r.PostForm.Get("role"); role != "" {
			c.Role = &role
		}
		if a := r.PostForm.Get("active"); a != "" {
			active := a == "true"
			c.Active = &active
		}
		actor := actorFrom(r)
		_, err = u.svc.UpdateUser(r.Context(), actor, id, c)
		if err == nil {
			if id == actor.ID {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/admin/users?msg=user", http.StatusSeeOther)
			return
		}
		e := unwrapErr(err)
		if e == nil || (e.Kind != desk.KindConflict && e.Kind != desk.KindInvalid) {
			u.renderError(w, r, err)
			return
		}
		v, lerr := u.usersPage(r, url.Values{})
		if lerr != nil {
			u.renderError(w, r, lerr)
			return
		}
		v.Errors, v.Message = formErrors(err)
		u.render(w, r, statusOf(e.Kind), "users", u.page(r, "Users", "users"), v)
	})
}
