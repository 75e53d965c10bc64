package desk

import "time"

// EventKind names something that happened, as streamed to clients. The
// strings are the SSE event names of the stream contract.
type EventKind string

// The event kinds.
const (
	EventTicketCreated EventKind = "ticket.created"
	EventTicketUpdated EventKind = "ticket.updated" // status changed (Change set)
	EventCommentAdded  EventKind = "comment.created"
	EventChatStarted   EventKind = "chat.started"
	EventChatMessage   EventKind = "chat.message"
	EventChatTyping    EventKind = "chat.typing"
	EventChatClosed    EventKind = "chat.closed" // closed, or turned into a ticket (Chat.TicketID set)
	EventPresence      EventKind = "presence"
	// EventUserAccess says a user's role or active flag changed: their open
	// streams are closed (they reconnect with their new rights, or not).
	// It is never delivered to a client.
	EventUserAccess EventKind = "user.access"
)

// Audience says who may receive an event, before the per-object rules.
type Audience uint8

// The audiences.
const (
	// AudienceOwner: the object's owner (OwnerID) and every admin.
	AudienceOwner Audience = iota
	// AudienceAdmins: admins only (internal notes, agent-side signals).
	AudienceAdmins
	// AudienceEveryone: any active user (agent presence).
	AudienceEveryone
	// AudienceNobody: control events for the hub itself.
	AudienceNobody
)

// Event is something that happened, published after it was committed. The
// routing fields (Kind, Audience, OwnerID, TicketID, ChatID) decide who
// receives it; exactly the payload fields relevant to Kind are set.
type Event struct {
	Kind     EventKind
	Audience Audience
	OwnerID  int64 // the user the ticket or chat belongs to (or, for EventUserAccess, the user)
	TicketID int64
	ChatID   int64
	At       time.Time

	Ticket  *Ticket
	Change  *StatusChange
	Comment *Comment
	Chat    *Chat
	Message *ChatMessage
	// Typing is who is typing in ChatID (EventChatTyping).
	Typing *UserRef
	// AgentsOnline is the number of admins connected (EventPresence).
	AgentsOnline int
}

// CanReceive reports whether u may be sent e. Inactive and anonymous users
// receive nothing; admins receive everything addressed to a client; a user
// receives events about their own tickets and chats (never internal notes)
// and public announcements.
func CanReceive(u *User, e *Event) bool {
	if !active(u) || e == nil {
		return false
	}
	switch e.Audience {
	case AudienceEveryone:
		return true
	case AudienceAdmins:
		return u.IsAdmin()
	case AudienceOwner:
		if e.Comment != nil && e.Comment.Internal {
			return u.IsAdmin() // defence in depth: a note is never owner-visible
		}
		return u.IsAdmin() || (e.OwnerID != 0 && e.OwnerID == u.ID)
	}
	return false
}
