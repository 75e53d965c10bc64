package desk

// The permission rules. Every function takes the acting user, which may be nil
// (anonymous); an inactive user may do nothing.

func active(u *User) bool { return u != nil && u.Active }

// CanViewTicket reports whether actor may see t: admins see every ticket, a
// user sees only their own.
func CanViewTicket(actor *User, t *Ticket) bool {
	return active(actor) && (actor.Role == RoleAdmin || t.CreatedBy.ID == actor.ID)
}

// CanCreateTicket reports whether actor may open tickets: any active user.
func CanCreateTicket(actor *User) bool { return active(actor) }

// CanChangeStatus reports whether actor may change t's status: admins only.
func CanChangeStatus(actor *User, t *Ticket) bool { return actor.IsAdmin() && t != nil }

// CanListAllTickets reports whether actor's ticket list spans every user.
func CanListAllTickets(actor *User) bool { return actor.IsAdmin() }

// CanComment reports whether actor may post on t's conversation. Internal
// notes are for admins only; public replies for admins and the owner.
func CanComment(actor *User, t *Ticket, internal bool) bool {
	if internal {
		return actor.IsAdmin()
	}
	return CanViewTicket(actor, t)
}

// CanViewComment reports whether actor may see c on t.
func CanViewComment(actor *User, t *Ticket, c *Comment) bool {
	if !CanViewTicket(actor, t) {
		return false
	}
	return !c.Internal || actor.IsAdmin()
}

// CanManageUsers reports whether actor may list users and change their role
// or active flag.
func CanManageUsers(actor *User) bool { return actor.IsAdmin() }

// CanViewAttachment reports whether actor may download a, which belongs to
// t and, when a.CommentID is set, to comment c of t: the attachments of an
// internal note are as private as the note.
func CanViewAttachment(actor *User, t *Ticket, c *Comment) bool {
	if c == nil {
		return CanViewTicket(actor, t)
	}
	return c.TicketID == t.ID && CanViewComment(actor, t, c)
}

// CanStartChat reports whether actor may open a live support chat: any
// active user (the chat is theirs).
func CanStartChat(actor *User) bool { return active(actor) }

// CanViewChat reports whether actor may read c: its user and every admin.
func CanViewChat(actor *User, c *Chat) bool {
	return active(actor) && c != nil && (actor.Role == RoleAdmin || c.User.ID == actor.ID)
}

// CanPostChat reports whether actor may write in c (and signal typing):
// those who may view it, while it is open.
func CanPostChat(actor *User, c *Chat) bool {
	return CanViewChat(actor, c) && c.Status == ChatOpen
}

// CanCloseChat reports whether actor may close c: its user or an admin,
// while it is open.
func CanCloseChat(actor *User, c *Chat) bool { return CanPostChat(actor, c) }

// CanConvertChat reports whether actor may turn c into a ticket: admins,
// once per chat.
func CanConvertChat(actor *User, c *Chat) bool {
	return actor.IsAdmin() && c != nil && c.TicketID == 0
}

// CanListAllChats reports whether actor sees every chat (the agent inbox)
// rather than only their own.
func CanListAllChats(actor *User) bool { return actor.IsAdmin() }
