package web

import (
	"net/http"
	"time"

	"ticketflow/internal/desk"
)

// chatMessageView is one chat line as the pages show it; Mine is from the
// viewer's point of view.
type chatMessageView struct {
	ID        int64
	Author    string
	FromAgent bool
	Mine      bool
	Body      string
	CreatedAt time.Time
}

func chatMessageViews(viewer *desk.User, ms []desk.ChatMessage) []chatMessageView {
	out := make([]chatMessageView, 0, len(ms))
	for _, m := range ms {
		out = append(out, chatMessageView{ID: m.ID, Author: m.Author.Username, FromAgent: m.FromAgent,
			Mine: m.Author.ID == viewer.ID, Body: m.Body, CreatedAt: m.CreatedAt})
	}
	return out
}

// maxEarlierChats bounds the closed chats listed on the chat page.
const maxEarlierChats = 10

// chatPageView is the data of the user's support chat page.
type chatPageView struct {
	Chat         *desk.Chat // the open chat, nil if none
	Messages     []chatMessageView
	AgentsOnline int
	Body         string // kept when the form comes back with an error
	Errors       map[string][]string
	Message      string
	Earlier      []desk.Chat // closed chats, newest first
}

func (u *ui) chatPage(r *http.Request) (*chatPageView, error) {
	actor := actorFrom(r)
	c, msgs, err := u.svc.MyChat(r.Context(), actor)
	if err != nil {
		return nil, err
	}
	closed, err := u.svc.Chats(r.Context(), actor, string(desk.ChatClosed))
	if err != nil {
		return nil, err
	}
	return &chatPageView{Chat: c, Messages: chatMessageViews(actor, msgs), AgentsOnline: u.svc.AgentsOnline(actor),
		Earlier: closed[:min(len(closed), maxEarlierChats)]}, nil
}

// handleChatPage serves GET /chat: the user's open chat and a form to
// write in it (or start one). It works without JavaScript; with it, the
// page updates live like the chat panel.
func handleChatPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := u.chatPage(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		u.render(w, r, http.StatusOK, "chat", u.page(r, "Support chat", "chat"), v)
	})
}

// handleChatSendPage serves POST /chat (CSRF checked by form): body into
// the user's own chat, started if needed. When no agent is online the chat
// becomes a ticket, and the user is taken to it.
func handleChatSendPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := r.PostForm.Get("body")
		p, err := u.svc.SendChatMessage(r.Context(), actorFrom(r), 0, body)
		switch {
		case err == nil && p.Offline:
			http.Redirect(w, r, "/tickets/"+itoa(int(p.Ticket.ID))+"?msg=chat_offline", http.StatusSeeOther)
			return
		case err == nil:
			http.Redirect(w, r, "/chat#chat-msg-"+itoa(int(p.Message.ID)), http.StatusSeeOther)
			return
		case !desk.IsKind(err, desk.KindInvalid):
			u.renderError(w, r, err)
			return
		}
		v, lerr := u.chatPage(r)
		if lerr != nil {
			u.renderError(w, r, lerr)
			return
		}
		v.Body = body
		v.Errors, v.Message = formErrors(err)
		u.render(w, r, statusOf(desk.KindInvalid), "chat", u.page(r, "Support chat", "chat"), v)
	})
}

// chatTranscriptView is the data of a single chat's read-only page.
type chatTranscriptView struct {
	Chat     *desk.Chat
	Messages []chatMessageView
}

// handleChatTranscriptPage serves GET /chats/{id}: a chat read by its user
// (the link on a ticket made from it). Admins read chats in the inbox; a
// chat the user may not see is a 404.
func handleChatTranscriptPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		actor := actorFrom(r)
		c, msgs, err := u.svc.Chat(r.Context(), actor, id, 0)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		if actor.IsAdmin() {
			http.Redirect(w, r, "/admin/chats/"+itoa(int(id)), http.StatusSeeOther)
			return
		}
		v := chatTranscriptView{Chat: c, Messages: chatMessageViews(actor, msgs)}
		u.render(w, r, http.StatusOK, "chat_transcript", u.page(r, "Chat #"+itoa(int(id)), "chat"), v)
	})
}

// handleChatClosePage serves POST /chats/{id}/close (the chat's user or an
// admin; CSRF checked by form) and goes back to where they read it.
func handleChatClosePage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		actor := actorFrom(r)
		c, err := u.svc.CloseChat(r.Context(), actor, id)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
		if actor.IsAdmin() {
			http.Redirect(w, r, "/admin/chats/"+itoa(int(c.ID))+"?msg=chat_closed", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/chat?msg=chat_closed", http.StatusSeeOther)
	})
}
