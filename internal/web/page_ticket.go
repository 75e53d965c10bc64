package web

import (
	"net/http"
	"strings"

	"ticketflow/internal/desk"
)

// attachmentView is one attachment as the detail page shows it: an image
// thumbnail, an embedded PDF, or a download link.
type attachmentView struct {
	ID          int64
	Filename    string
	Size        int64
	Kind        string // "image", "pdf" or "file"
	URL         string // inline (images and PDF)
	DownloadURL string
}

func attachmentViews(atts []desk.Attachment) []attachmentView {
	out := make([]attachmentView, 0, len(atts))
	for _, a := range atts {
		id := itoa(int(a.ID))
		v := attachmentView{ID: a.ID, Filename: a.Filename, Size: a.Size, Kind: "file",
			URL: "/api/attachments/" + id, DownloadURL: "/api/attachments/" + id + "/download"}
		if ft, ok := desk.FileTypeByMIME(a.ContentType); ok && ft.Inline {
			v.Kind = "image"
			if ft.MIME == "application/pdf" {
				v.Kind = "pdf"
			}
		}
		out = append(out, v)
	}
	return out
}

// ticketView is the data of the ticket detail page.
type ticketView struct {
	Ticket      *desk.Ticket
	Attachments []attachmentView
	History     []desk.StatusChange
	CanChange   bool
	Next        []desk.Status // statuses the ticket may move to
	Status      string        // the admin form's values, kept on error
	Note        string
	Errors      map[string][]string
	Message     string
	// Conversation: replies, and internal notes for admins only (the
	// service leaves them out for everyone else).
	Comments []commentView
	Reply    replyForm
	// ChatURL is where the chat this ticket was made from can be read.
	ChatURL string
}

// ticketPage loads what the detail page shows; a ticket the user may not
// see is KindNotFound.
func (u *ui) ticketPage(r *http.Request) (*ticketView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	actor := actorFrom(r)
	t, err := u.svc.Ticket(r.Context(), actor, id)
	if err != nil {
		return nil, err
	}
	h, err := u.svc.StatusHistory(r.Context(), actor, id)
	if err != nil {
		return nil, err
	}
	cs, err := u.svc.Comments(r.Context(), actor, id, 0)
	if err != nil {
		return nil, err
	}
	v := &ticketView{Ticket: t, Attachments: attachmentViews(t.Attachments), History: h, CanChange: desk.CanChangeStatus(actor, t),
		Comments: commentViews(t, cs), Reply: u.replyForm(actor, t)}
	if t.ChatID != 0 {
		v.ChatURL = "/chats/" + itoa(int(t.ChatID))
		if actor.IsAdmin() {
			v.ChatURL = "/admin/chats/" + itoa(int(t.ChatID))
		}
	}
	for _, s := range desk.Statuses {
		if desk.CanTransition(t.Status, s) {
			v.Next = append(v.Next, s)
		}
	}
	return v, nil
}

// handleTicketPage serves GET /tickets/{id} (owner or admin; others 404).
func handleTicketPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := u.ticketPage(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, http.StatusOK, "ticket", u.page(r, v.Ticket.Title, "tickets"), v)
	})
}

// handleTicketStatusPage serves POST /tickets/{id}/status (admins, CSRF
// checked by form): status and optional note; redirects back to the ticket,
// or shows it again with the error.
func handleTicketStatusPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		status, note := r.PostForm.Get("status"), r.PostForm.Get("note")
		_, _, err = u.svc.ChangeStatus(r.Context(), actorFrom(r), id, status, note)
		if err == nil {
			http.Redirect(w, r, "/tickets/"+itoa(int(id))+"?msg=status", http.StatusSeeOther)
			return
		}
		if !desk.IsKind(err, desk.KindInvalid) && !desk.IsKind(err, desk.KindConflict) {
			u.renderError(w, r, err)
			return
		}
		v, lerr := u.ticketPage(r)
		if lerr != nil {
			u.renderError(w, r, lerr)
			return
		}
		v.Status, v.Note = status, strings.TrimSpace(note)
		v.Errors, v.Message = formErrors(err)
		u.render(w, r, statusOf(desk.ErrorKind(err)), "ticket", u.page(r, v.Ticket.Title, "tickets"), v)
	})
}
