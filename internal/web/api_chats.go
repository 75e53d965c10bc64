package web

import (
	"net/http"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

type chatPostJSON struct {
	Chat    chatJSON        `json:"chat"`
	Message chatMessageJSON `json:"message"`
	// Offline is true when no agent was online: the chat became Ticket.
	Offline bool        `json:"offline"`
	Ticket  *ticketJSON `json:"ticket"`
}

type chatDetailJSON struct {
	Chat         *chatJSON         `json:"chat"`
	Messages     []chatMessageJSON `json:"messages"`
	AgentsOnline int               `json:"agents_online"`
}

// handleMyChat serves GET /api/chat: the user's open chat (or null), its
// messages, and how many agents are online.
func handleMyChat(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r)
		c, msgs, err := d.svc.MyChat(r.Context(), actor)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		out := chatDetailJSON{Messages: messagesView(msgs), AgentsOnline: d.svc.AgentsOnline(actor)}
		if c != nil {
			v := chatView(c)
			out.Chat = &v
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleChatSend serves POST /api/chat/messages (own chat, started if
// needed; chat=false) and POST /api/chats/{id}/messages: {body}.
func handleChatSend(d ticketDeps, byID bool) http.Handler {
	type request struct {
		Body string `json:"body"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id int64
		var err error
		if byID {
			if id, err = pathID(r); err != nil {
				writeError(w, r, d.log, err)
				return
			}
		}
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, d.log, err)
			return
		}
		p, err := d.svc.SendChatMessage(r.Context(), actorFrom(r), id, in.Body)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		out := chatPostJSON{Chat: chatView(p.Chat), Message: messageView(p.Message), Offline: p.Offline}
		if p.Ticket != nil {
			t := d.linker(r).ticket(p.Ticket)
			out.Ticket = &t
			out.Chat.Status = desk.ChatClosed
			out.Chat.TicketID = &p.Ticket.ID
		}
		writeJSON(w, http.StatusCreated, out)
	})
}

// handleChatList serves GET /api/chats[?status=open|closed]: the agent
// inbox for admins, the user's own chats otherwise.
func handleChatList(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := d.svc.Chats(r.Context(), actorFrom(r), r.URL.Query().Get("status"))
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		out := listJSON[chatJSON]{Count: len(cs), Results: make([]chatJSON, 0, len(cs))}
		for i := range cs {
			out.Results = append(out.Results, chatView(&cs[i]))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleChatGet serves GET /api/chats/{id}[?after=ID].
func handleChatGet(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		after, err := queryID(r, "after")
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		c, msgs, err := d.svc.Chat(r.Context(), actorFrom(r), id, after)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		v := chatView(c)
		writeJSON(w, http.StatusOK, chatDetailJSON{Chat: &v, Messages: messagesView(msgs), AgentsOnline: d.svc.AgentsOnline(actorFrom(r))})
	})
}

// handleChatTyping serves POST /api/chats/{id}/typing (204; nothing stored).
func handleChatTyping(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			err = d.svc.ChatTyping(r.Context(), actorFrom(r), id)
		}
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleChatClose serves POST /api/chats/{id}/close.
func handleChatClose(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		c, err := d.svc.CloseChat(r.Context(), actorFrom(r), id)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		writeJSON(w, http.StatusOK, chatView(c))
	})
}

// handleChatConvert serves POST /api/chats/{id}/ticket (admins):
// {title?, category?, priority?} → 201 the new ticket.
func handleChatConvert(d ticketDeps) http.Handler {
	type request struct {
		Title    string `json:"title"`
		Category string `json:"category"`
		Priority string `json:"priority"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		var in request
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				writeError(w, r, d.log, err)
				return
			}
		}
		t, err := d.svc.ConvertChat(r.Context(), actorFrom(r), id, app.ChatTicket{Title: in.Title, Category: in.Category, Priority: in.Priority})
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		w.Header().Set("Location", "/api/tickets/"+itoa(int(t.ID)))
		writeJSON(w, http.StatusCreated, d.linker(r).ticket(t))
	})
}
