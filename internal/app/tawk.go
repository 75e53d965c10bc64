package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"

	"ticketflow/internal/desk"
)

// TawkChat is a Tawk.to webhook delivery about a finished chat, already
// authenticated (signature checked) by the caller.
type TawkChat struct {
	EventID  string // X-Hook-Event-Id: stable across retries
	Event    string // chat:end or chat:transcript_created
	ChatID   string
	Time     string
	Property string
	Visitor  TawkVisitor
	Message  string // the chat's message text, when the delivery has one
	Raw      []byte // the delivery body, attached to the ticket as JSON
}

// TawkVisitor is who chatted on the Tawk.to widget.
type TawkVisitor struct {
	Name, Email, City, Country string
}

// The built-in owner of tickets from Tawk.to visitors without an account.
const (
	tawkSystemEmail    = "tawk-visitor@ticketflow.invalid"
	tawkSystemUsername = "tawk-visitor"
)

// TawkChatEnded files a ticket for a finished Tawk.to chat, once: a
// redelivery (same event id) or another event about the same chat returns
// the first ticket with created false. The ticket belongs to the active
// user whose email is the visitor's, else to Config.TawkFallbackUser, else
// to the built-in inactive "tawk-visitor" account.
func (s *Service) TawkChatEnded(ctx context.Context, in TawkChat) (t *desk.Ticket, created bool, err error) {
	if strings.TrimSpace(in.EventID) == "" || len(in.EventID) > 200 || len(in.ChatID) > 200 {
		return nil, false, desk.Invalid("X-Hook-Event-Id", "A delivery id of at most 200 characters is required.")
	}
	// Signed, but still text from outside: make it storable on every engine.
	in.EventID, in.ChatID = cleanText(in.EventID, 200), cleanText(in.ChatID, 200)
	in.Visitor.Name = cleanText(in.Visitor.Name, 1000)
	refs := []string{"tawk:event:" + in.EventID}
	if in.ChatID != "" {
		refs = append(refs, "tawk:chat:"+in.ChatID)
	}
	owner, err := s.tawkOwner(ctx, in.Visitor.Email)
	if err != nil {
		return nil, false, err
	}
	f, err := s.stage(ctx, "tawk-chat-"+in.ChatID+".json", strings.NewReader(string(in.Raw)))
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	t = &desk.Ticket{Title: tawkTitle(in.Visitor), Description: tawkDescription(in), Category: desk.CategoryTechnical,
		Status: desk.StatusNew, Priority: desk.DefaultPriority, CreatedBy: owner.Ref(), CreatedAt: now, UpdatedAt: now,
		Attachments: []desk.Attachment{f.attachment(owner.ID, now)}}
	mails, err := s.newTicketMails(ctx, nil, t)
	if err != nil {
		s.Discard(context.WithoutCancel(ctx), []Staged{f})
		return nil, false, err
	}
	existing, err := s.store.CreateTicketOnce(ctx, t, refs, now, mails...)
	if err != nil || existing != 0 {
		s.Discard(context.WithoutCancel(ctx), []Staged{f})
	}
	if err != nil {
		return nil, false, err
	}
	if existing != 0 {
		t, err = s.store.TicketByID(ctx, existing)
		return t, false, err
	}
	s.wakeMailer(mails)
	s.log.InfoContext(ctx, "ticket from Tawk.to chat", "ticket_id", t.ID, "event", in.Event, "owner", owner.ID)
	s.publish(ctx, ticketEvent(desk.EventTicketCreated, t))
	return t, true, nil
}

func (s *Service) tawkOwner(ctx context.Context, email string) (*desk.User, error) {
	if email = strings.TrimSpace(email); email != "" && desk.ValidateEmail(email) == "" {
		u, err := s.store.UserByLogin(ctx, email)
		if err == nil && u.Active && desk.NormalizeEmail(u.Email) == desk.NormalizeEmail(email) {
			return u, nil
		}
		if err != nil && !desk.IsKind(err, desk.KindNotFound) {
			return nil, err
		}
	}
	if s.cfg.TawkFallbackUser != "" {
		u, err := s.store.UserByLogin(ctx, s.cfg.TawkFallbackUser)
		if err != nil {
			return nil, desk.Wrap(desk.KindInternal, err, "the Tawk.to fallback user does not exist")
		}
		return u, nil
	}
	u, err := s.store.UserByLogin(ctx, tawkSystemEmail)
	if !desk.IsKind(err, desk.KindNotFound) {
		return u, err
	}
	var pw [32]byte
	_, _ = rand.Read(pw[:])
	hash, err := s.hasher.Hash(ctx, hex.EncodeToString(pw[:]))
	if err != nil {
		return nil, err
	}
	u = &desk.User{Email: tawkSystemEmail, Username: tawkSystemUsername, PasswordHash: hash, Role: desk.RoleUser, Active: false, DateJoined: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if desk.IsKind(err, desk.KindConflict) { // made concurrently
			return s.store.UserByLogin(ctx, tawkSystemEmail)
		}
		return nil, err
	}
	return u, nil
}

func tawkTitle(v TawkVisitor) string {
	name := strings.Join(strings.Fields(v.Name), " ")
	if name == "" {
		name = "a visitor"
	}
	title := "Tawk.to chat with " + name
	if r := []rune(title); len(r) > desk.MaxTitleLen {
		title = string(r[:desk.MaxTitleLen])
	}
	return title
}

func tawkDescription(in TawkChat) string {
	var b strings.Builder
	line := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("Chat on the Tawk.to widget (" + in.Event + ").\n\n")
	line("Visitor", in.Visitor.Name)
	line("Email", in.Visitor.Email)
	line("Location", strings.Trim(strings.TrimSpace(in.Visitor.City)+", "+strings.TrimSpace(in.Visitor.Country), ", "))
	line("Chat id", in.ChatID)
	line("Time", in.Time)
	line("Property", in.Property)
	if m := strings.TrimSpace(in.Message); m != "" {
		b.WriteString("\n" + m + "\n")
	}
	b.WriteString("\nThe delivery is attached as JSON.")
	d := strings.ToValidUTF8(strings.ReplaceAll(b.String(), "\x00", ""), "")
	if r := []rune(d); len(r) > desk.MaxDescriptionLen {
		d = string(r[:desk.MaxDescriptionLen])
	}
	return d
}
