package desk

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ChatStatus is where a live support chat stands.
type ChatStatus string

// The chat statuses. A chat is open until its user or an admin closes it,
// or until it becomes a ticket.
const (
	ChatOpen   ChatStatus = "open"
	ChatClosed ChatStatus = "closed"
)

// ParseChatStatus returns the chat status spelled exactly s, or false.
func ParseChatStatus(s string) (ChatStatus, bool) {
	switch ChatStatus(s) {
	case ChatOpen, ChatClosed:
		return ChatStatus(s), true
	}
	return "", false
}

// Chat is a live support conversation between one user and the admins on
// duty. A user has at most one open chat at a time.
type Chat struct {
	ID        int64
	User      UserRef // the user who asked for help
	Status    ChatStatus
	TicketID  int64 // the ticket the chat became, 0 if none
	CreatedAt time.Time
	UpdatedAt time.Time // time of the last message or status change
	ClosedAt  time.Time // zero while open
	// LastMessage is the newest message's text (inbox listings only).
	LastMessage string
}

// ChatMessage is one line of a chat. FromAgent is true when its author was
// an admin at the time of writing.
type ChatMessage struct {
	ID        int64
	ChatID    int64
	Author    UserRef
	FromAgent bool
	Body      string
	CreatedAt time.Time
}

// MaxChatMessageLen bounds one chat message, in characters.
const MaxChatMessageLen = 4000

// ValidateChatMessage trims body and returns it, or a KindInvalid error for
// an empty, overlong or malformed message.
func ValidateChatMessage(body string) (string, error) {
	body = strings.TrimSpace(body)
	var errs FieldErrors
	checkText(&errs, "body", body, MaxChatMessageLen)
	return body, errs.Err()
}

// ValidateComment trims body and returns it, or a KindInvalid error.
func ValidateComment(body string) (string, error) {
	body = strings.TrimSpace(body)
	var errs FieldErrors
	checkText(&errs, "body", body, MaxCommentLen)
	return body, errs.Err()
}

// ChatTitle derives a ticket title from a chat's first message: its first
// line, shortened to fit MaxTitleLen.
func ChatTitle(first string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(first), "\n")
	line = strings.Join(strings.Fields(line), " ")
	if line == "" {
		return "Live chat"
	}
	const prefix = "Chat: "
	max := MaxTitleLen - len(prefix)
	if utf8.RuneCountInString(line) > max {
		r := []rune(line)
		line = string(r[:max-1]) + "…"
	}
	return prefix + line
}

// ChatTranscript renders a chat as plain text, one message per paragraph,
// with UTC timestamps and the author's username; agents are marked.
func ChatTranscript(c *Chat, msgs []ChatMessage) string {
	var b strings.Builder
	b.WriteString("Live chat #" + itoa(int(c.ID)) + " with " + c.User.Username + " <" + c.User.Email + ">\n")
	b.WriteString("Started " + c.CreatedAt.UTC().Format(time.RFC3339) + "\n\n")
	for _, m := range msgs {
		who := m.Author.Username
		if m.FromAgent {
			who += " (support)"
		}
		b.WriteString("[" + m.CreatedAt.UTC().Format("2006-01-02 15:04:05") + "] " + who + ":\n")
		b.WriteString(m.Body)
		b.WriteString("\n\n")
	}
	return b.String()
}
