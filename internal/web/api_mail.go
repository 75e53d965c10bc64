package web

import (
	"log/slog"
	"net/http"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// mailJSON is an outbox mail as admins see it (what it says is not shown:
// it is the recipient's).
type mailJSON struct {
	ID            int64           `json:"id"`
	Notice        desk.Notice     `json:"notice"`
	To            string          `json:"to"`
	UserID        int64           `json:"user_id"`
	TicketID      *int64          `json:"ticket_id"`
	ChatID        *int64          `json:"chat_id"`
	Status        desk.MailStatus `json:"status"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error"`
	CreatedAt     time.Time       `json:"created_at"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	SentAt        *time.Time      `json:"sent_at"`
}

func mailView(m *desk.Mail) mailJSON {
	v := mailJSON{ID: m.ID, Notice: m.Notice, To: m.To, UserID: m.UserID, Status: m.Status, Attempts: m.Attempts,
		LastError: m.LastError, CreatedAt: m.CreatedAt, NextAttemptAt: m.NextAttemptAt}
	if m.TicketID != 0 {
		v.TicketID = &m.TicketID
	}
	if m.ChatID != 0 {
		v.ChatID = &m.ChatID
	}
	if !m.SentAt.IsZero() {
		v.SentAt = &m.SentAt
	}
	return v
}

// notificationsJSON maps each notice the user may receive to whether it is on.
type notificationsJSON map[desk.Notice]bool

// handleNotificationPrefs serves GET /api/auth/me/notifications.
func handleNotificationPrefs(log *slog.Logger, svc *app.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := svc.NotificationPrefs(r.Context(), actorFrom(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, notificationsJSON(p))
	})
}

// handleNotificationPrefsUpdate serves PATCH /api/auth/me/notifications
// {notice: bool, …}: the notices named are turned on or off.
func handleNotificationPrefsUpdate(log *slog.Logger, svc *app.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]bool
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, log, err)
			return
		}
		p, err := svc.SetNotificationPrefs(r.Context(), actorFrom(r), in)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, notificationsJSON(p))
	})
}

// handleOutboxList serves GET /api/admin/outbox?status=&page=&page_size=
// (admins).
func handleOutboxList(log *slog.Logger, svc *app.Service, baseURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page, size := pageQuery(q)
		mails, total, err := svc.Outbox(r.Context(), actorFrom(r), app.OutboxQuery{Status: q.Get("status"), Page: page, PageSize: size})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		out := listJSON[mailJSON]{Count: total, Results: make([]mailJSON, 0, len(mails))}
		for i := range mails {
			out.Results = append(out.Results, mailView(&mails[i]))
		}
		linkPages(&out, r, baseURL, page, size)
		writeJSON(w, http.StatusOK, out)
	})
}

// handleOutboxRetry serves POST /api/admin/outbox/{id}/retry (admins): a
// failed mail is queued again.
func handleOutboxRetry(log *slog.Logger, svc *app.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			var m *desk.Mail
			if m, err = svc.RetryMail(r.Context(), actorFrom(r), id); err == nil {
				writeJSON(w, http.StatusOK, mailView(m))
				return
			}
		}
		writeError(w, r, log, err)
	})
}
