package web

import (
	"net/http"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// maxInboxClosed bounds the recently closed chats the inbox lists.
const maxInboxClosed = 20

// inboxView is the data of the agents' chat inbox: the chats, and the one
// selected (if any) with its conversation and forms.
type inboxView struct {
	Open, Closed []inboxItem
	Selected     *desk.Chat
	Messages     []chatMessageView
	// The reply form, kept on error.
	Body    string
	Errors  map[string][]string
	Message string
	// The "Turn into ticket" form, kept on error.
	Convert       app.ChatTicket
	ConvertErrors map[string][]string
	Categories    []desk.Category
	Priorities    []desk.Priority
}

// inboxItem is one chat in the inbox list.
type inboxItem struct {
	desk.Chat
	Current bool // the chat shown beside the list
}

func inboxItems(cs []desk.Chat, selected int64) []inboxItem {
	out := make([]inboxItem, 0, len(cs))
	for _, c := range cs {
		out = append(out, inboxItem{Chat: c, Current: c.ID == selected})
	}
	return out
}

// inboxPage loads the inbox with chat id selected (0: none). A chat that
// does not exist is KindNotFound.
func (u *ui) inboxPage(r *http.Request, id int64) (*inboxView, error) {
	actor := actorFrom(r)
	v := &inboxView{Categories: desk.Categories, Priorities: desk.Priorities,
		Convert: app.ChatTicket{Category: string(desk.CategoryTechnical), Priority: string(desk.DefaultPriority)}}
	open, err := u.svc.Chats(r.Context(), actor, string(desk.ChatOpen))
	if err != nil {
		return nil, err
	}
	closed, err := u.svc.Chats(r.Context(), actor, string(desk.ChatClosed))
	if err != nil {
		return nil, err
	}
	v.Open, v.Closed = inboxItems(open, id), inboxItems(closed[:min(len(closed), maxInboxClosed)], id)
	if id != 0 {
		c, msgs, err := u.svc.Chat(r.Context(), actor, id, 0)
		if err != nil {
			return nil, err
		}
		v.Selected, v.Messages = c, chatMessageViews(actor, msgs)
	}
	return v, nil
}

func (u *ui) renderInbox(w http.ResponseWriter, r *http.Request, status int, v *inboxView) {
	title := "Chats"
	if v.Selected != nil {
		title = "Chat with " + v.Selected.User.Username
	}
	u.render(w, r, status, "inbox", u.page(r, title, "chats"), v)
}

// handleInboxPage serves GET /admin/chats and /admin/chats/{id} (admins):
// open and recent chats; the selected one's conversation.
func handleInboxPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id int64
		if r.PathValue("id") != "" {
			var err error
			if id, err = pathID(r); err != nil {
				u.renderError(w, r, err)
				return
			}
		}
		v, err := u.inboxPage(r, id)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.renderInbox(w, r, http.StatusOK, v)
	})
}

// inboxFailed answers an inbox form that failed: the form's own errors
// (invalid input, a chat closed meanwhile) show the conversation again
// with fill applied; anything else is an error page.
func (u *ui) inboxFailed(w http.ResponseWriter, r *http.Request, id int64, err error, fill func(*inboxView)) {
	if !desk.IsKind(err, desk.KindInvalid) && !desk.IsKind(err, desk.KindConflict) {
		u.renderError(w, r, err)
		return
	}
	v, lerr := u.inboxPage(r, id)
	if lerr != nil {
		u.renderError(w, r, lerr)
		return
	}
	fill(v)
	u.renderInbox(w, r, statusOf(desk.ErrorKind(err)), v)
}

// handleInboxReplyPage serves POST /admin/chats/{id}/messages (admins,
// CSRF checked by form): an agent's answer.
func handleInboxReplyPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		body := r.PostForm.Get("body")
		p, err := u.svc.SendChatMessage(r.Context(), actorFrom(r), id, body)
		if err == nil {
			http.Redirect(w, r, "/admin/chats/"+itoa(int(id))+"#chat-msg-"+itoa(int(p.Message.ID)), http.StatusSeeOther)
			return
		}
		u.inboxFailed(w, r, id, err, func(v *inboxView) {
			v.Body = body
			v.Errors, v.Message = formErrors(err)
		})
	})
}

// handleInboxConvertPage serves POST /admin/chats/{id}/ticket (admins,
// CSRF checked by form): title, category and priority, all optional. The
// new ticket belongs to the chat's user and carries the transcript; the
// admin is taken to it.
func handleInboxConvertPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		in := app.ChatTicket{Title: strings.TrimSpace(r.PostForm.Get("title")), Category: r.PostForm.Get("category"),
			Priority: r.PostForm.Get("priority")}
		t, err := u.svc.ConvertChat(r.Context(), actorFrom(r), id, in)
		if err == nil {
			http.Redirect(w, r, "/tickets/"+itoa(int(t.ID))+"?msg=converted", http.StatusSeeOther)
			return
		}
		u.inboxFailed(w, r, id, err, func(v *inboxView) {
			v.Convert = in
			v.ConvertErrors, v.Message = formErrors(err)
		})
	})
}
