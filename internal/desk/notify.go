package desk

import "time"

// Notice is a kind of email notification. Each can be turned off per user.
type Notice string

// The notices. The first two go to a ticket's owner, the others to admins.
const (
	NoticeStatus    Notice = "ticket_status" // the owner's ticket changed status
	NoticeReply     Notice = "ticket_reply"  // a public reply on the owner's ticket
	NoticeNewTicket Notice = "new_ticket"    // admins: a ticket was opened
	NoticeChat      Notice = "chat_offline"  // admins: a chat message while no admin was online
)

// Notices lists every notice, owners' first.
var Notices = []Notice{NoticeStatus, NoticeReply, NoticeNewTicket, NoticeChat}

// ParseNotice returns the notice named s, or false.
func ParseNotice(s string) (Notice, bool) {
	for _, n := range Notices {
		if string(n) == s {
			return n, true
		}
	}
	return "", false
}

// ForAdmins reports whether n is sent to admins (rather than to an owner).
func (n Notice) ForAdmins() bool { return n == NoticeNewTicket || n == NoticeChat }

// Describe returns what n is about, for people.
func (n Notice) Describe() string {
	switch n {
	case NoticeStatus:
		return "status changes of my tickets"
	case NoticeReply:
		return "replies on my tickets"
	case NoticeNewTicket:
		return "new tickets (admins)"
	case NoticeChat:
		return "chat messages while no admin is online (admins)"
	}
	return string(n)
}

// NoticesFor returns the notices u may receive: the owners' to everyone,
// the admins' to admins.
func NoticesFor(u *User) []Notice {
	out := []Notice{NoticeStatus, NoticeReply}
	if u.IsAdmin() {
		out = append(out, NoticeNewTicket, NoticeChat)
	}
	return out
}

// ShouldNotify reports whether recipient gets notice n about a change made
// by actor: never for their own change, never when inactive or opted out
// (off), admins' notices only to admins. Who the owner of a ticket is, and
// that internal notes are never sent, is the caller's part: see
// CommentNotice.
func ShouldNotify(n Notice, actor, recipient *User, off bool) bool {
	if !active(recipient) || off || recipient.Email == "" {
		return false
	}
	if actor != nil && actor.ID == recipient.ID {
		return false
	}
	if n.ForAdmins() {
		return recipient.IsAdmin()
	}
	_, known := ParseNotice(string(n))
	return known
}

// CommentNotice returns the notice a comment triggers for the ticket's
// owner: a reply notice for a public comment, none for an internal note.
func CommentNotice(c *Comment) (Notice, bool) {
	if c == nil || c.Internal {
		return "", false
	}
	return NoticeReply, true
}

// MailStatus is where an outbox mail is in its life.
type MailStatus string

// The outbox states: pending until sent, or failed for good (a permanent
// SMTP refusal, or too many attempts) until an admin retries it.
const (
	MailPending MailStatus = "pending"
	MailSent    MailStatus = "sent"
	MailFailed  MailStatus = "failed"
)

// ParseMailStatus returns the status named s, or false.
func ParseMailStatus(s string) (MailStatus, bool) {
	switch MailStatus(s) {
	case MailPending, MailSent, MailFailed:
		return MailStatus(s), true
	}
	return "", false
}

// Mail is one notification in the outbox. It is written in the transaction
// of the change it reports and rendered when it is sent; Data holds what it
// says (a JSON document made by the service, never an internal note).
type Mail struct {
	ID       int64
	Notice   Notice
	UserID   int64  // the recipient
	To       string // their address when the mail was written
	TicketID int64  // the ticket it is about, 0 if none
	ChatID   int64  // the chat it is about, 0 if none
	Data     []byte

	Status        MailStatus
	Attempts      int // sending attempts started, the current one included
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time // zero until sent
}
