package web

import (
	"net/http"
	"net/url"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// unsubscribeView is the data of the unsubscribe page.
type unsubscribeView struct {
	Token    string
	Username string
	About    string // what the notice is about, for people
	Off      bool   // the notice is off (now, or already)
}

func unsubscribeData(token string, sub *app.Unsubscription) unsubscribeView {
	return unsubscribeView{Token: token, Username: sub.User.Username, About: sub.Notice.Describe(), Off: sub.Off}
}

// handleUnsubscribePage serves GET /unsubscribe?t=TOKEN: the link in every
// mail. It asks for confirmation and changes nothing (mail scanners follow
// links); no sign-in is needed, the token is signed and expires.
func handleUnsubscribePage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("t")
		sub, err := u.svc.UnsubscribeLink(r.Context(), token)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, http.StatusOK, "unsubscribe", u.page(r, "Unsubscribe", ""), unsubscribeData(token, sub))
	})
}

// handleUnsubscribeSubmit serves POST /unsubscribe?t=TOKEN: the page's
// button, and the one-click unsubscribe of RFC 8058 that mail programs send
// (body List-Unsubscribe=One-Click). The token is the credential, so there
// is no session and no CSRF token to check.
func handleUnsubscribeSubmit(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("t")
		sub, err := u.svc.Unsubscribe(r.Context(), token)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, http.StatusOK, "unsubscribe", u.page(r, "Unsubscribed", ""), unsubscribeData(token, sub))
	})
}

// noticeChoice is one checkbox of the notification settings.
type noticeChoice struct {
	Name  desk.Notice
	Label string
	On    bool
}

// handleNotificationsPage serves GET /settings/notifications.
func handleNotificationsPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r)
		prefs, err := u.svc.NotificationPrefs(r.Context(), actor)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		var choices []noticeChoice
		for _, n := range desk.NoticesFor(actor) {
			choices = append(choices, noticeChoice{Name: n, Label: n.Describe(), On: prefs[n]})
		}
		u.render(w, r, http.StatusOK, "notifications", u.page(r, "Email notifications", "settings"), choices)
	})
}

// handleNotificationsSubmit serves POST /settings/notifications (CSRF
// checked by form): a checked box turns its notice on, an unchecked one off.
func handleNotificationsSubmit(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r)
		in := map[string]bool{}
		for _, n := range desk.NoticesFor(actor) {
			in[string(n)] = r.PostForm.Get(string(n)) == "on"
		}
		if _, err := u.svc.SetNotificationPrefs(r.Context(), actor, in); err != nil {
			u.renderError(w, r, err)
			return
		}
		http.Redirect(w, r, "/settings/notifications?msg=prefs", http.StatusSeeOther)
	})
}

// outboxView is the data of the admins' outbox page.
type outboxView struct {
	Status string
	Mails  []desk.Mail
	Total  int
}

// handleOutboxPage serves GET /admin/outbox?status= (admins): failed mails
// by default, with a button to send each again.
func handleOutboxPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		if status == "" {
			status = string(desk.MailFailed)
		}
		mails, total, err := u.svc.Outbox(r.Context(), actorFrom(r), app.OutboxQuery{Status: status, PageSize: 200})
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, http.StatusOK, "outbox", u.page(r, "Mail outbox", "outbox"), outboxView{Status: status, Mails: mails, Total: total})
	})
}

// handleOutboxRetryPage serves POST /admin/outbox/{id}/retry (admins, CSRF
// checked by form).
func handleOutboxRetryPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			_, err = u.svc.RetryMail(r.Context(), actorFrom(r), id)
		}
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/outbox?"+url.Values{"msg": {"retried"}}.Encode(), http.StatusSeeOther)
	})
}
