package web

import (
	"time"

	"ticketflow/internal/desk"
)

// JSON shapes of conversations, chats and stream events.

type commentJSON struct {
	ID          int64            `json:"id"`
	TicketID    int64            `json:"ticket_id"`
	Author      userRefJSON      `json:"author"`
	Body        string           `json:"body"`
	Internal    bool             `json:"internal"`
	CreatedAt   time.Time        `json:"created_at"`
	Attachments []attachmentJSON `json:"attachments"`
}

func (l linker) comment(c *desk.Comment) commentJSON {
	v := commentJSON{ID: c.ID, TicketID: c.TicketID, Author: refView(c.Author), Body: c.Body, Internal: c.Internal,
		CreatedAt: c.CreatedAt, Attachments: make([]attachmentJSON, 0, len(c.Attachments))}
	for i := range c.Attachments {
		v.Attachments = append(v.Attachments, l.attachment(&c.Attachments[i]))
	}
	return v
}

type chatJSON struct {
	ID          int64           `json:"id"`
	User        userRefJSON     `json:"user"`
	Status      desk.ChatStatus `json:"status"`
	TicketID    *int64          `json:"ticket_id"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	ClosedAt    *time.Time      `json:"closed_at"`
	LastMessage string          `json:"last_message"`
}

func chatView(c *desk.Chat) chatJSON {
	v := chatJSON{ID: c.ID, User: refView(c.User), Status: c.Status, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, LastMessage: c.LastMessage}
	if c.TicketID != 0 {
		id := c.TicketID
		v.TicketID = &id
	}
	if !c.ClosedAt.IsZero() {
		at := c.ClosedAt
		v.ClosedAt = &at
	}
	return v
}

type chatMessageJSON struct {
	ID        int64       `json:"id"`
	ChatID    int64       `json:"chat_id"`
	Author    userRefJSON `json:"author"`
	FromAgent bool        `json:"from_agent"`
	Body      string      `json:"body"`
	CreatedAt time.Time   `json:"created_at"`
}

func messageView(m *desk.ChatMessage) chatMessageJSON {
	return chatMessageJSON{ID: m.ID, ChatID: m.ChatID, Author: refView(m.Author), FromAgent: m.FromAgent, Body: m.Body, CreatedAt: m.CreatedAt}
}

func messagesView(ms []desk.ChatMessage) []chatMessageJSON {
	out := make([]chatMessageJSON, 0, len(ms))
	for i := range ms {
		out = append(out, messageView(&ms[i]))
	}
	return out
}

// eventData is the JSON of a stream event's data line, rendered for one
// viewer (attachment links are signed for them).
func (l linker) eventData(e *desk.Event) any {
	switch e.Kind {
	case desk.EventTicketCreated, desk.EventTicketUpdated:
		v := struct {
			Ticket ticketJSON        `json:"ticket"`
			Change *statusChangeJSON `json:"change"`
		}{Ticket: l.ticket(e.Ticket)}
		if e.Change != nil {
			c := changeView(e.Change)
			v.Change = &c
		}
		return v
	case desk.EventCommentAdded:
		return struct {
			TicketID int64       `json:"ticket_id"`
			Comment  commentJSON `json:"comment"`
		}{e.TicketID, l.comment(e.Comment)}
	case desk.EventChatStarted, desk.EventChatClosed:
		return struct {
			Chat chatJSON `json:"chat"`
		}{chatView(e.Chat)}
	case desk.EventChatMessage:
		return struct {
			ChatID  int64           `json:"chat_id"`
			Chat    chatJSON        `json:"chat"`
			Message chatMessageJSON `json:"message"`
		}{e.ChatID, chatView(e.Chat), messageView(e.Message)}
	case desk.EventChatTyping:
		return struct {
			ChatID int64       `json:"chat_id"`
			User   userRefJSON `json:"user"`
		}{e.ChatID, refView(*e.Typing)}
	case desk.EventPresence:
		return presenceJSON{AgentsOnline: e.AgentsOnline}
	}
	return struct{}{}
}

type presenceJSON struct {
	AgentsOnline int `json:"agents_online"`
}
