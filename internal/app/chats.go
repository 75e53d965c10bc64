package app

import (
	"context"
	"strconv"
	"strings"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store"
)

// ChatPost is the outcome of a chat message. When no admin was online the
// message was stored, the chat became Ticket and was closed (Offline).
type ChatPost struct {
	Chat    *desk.Chat
	Message *desk.ChatMessage
	Ticket  *desk.Ticket
	Offline bool
}

// SendChatMessage writes body into a chat. chatID 0 means the actor's own
// open chat, started if there is none (any active user may). Otherwise the
// chat's user and admins may write while it is open (KindNotFound for
// others, KindConflict once it has ended). When the chat's user writes and
// no admin is connected, the chat is turned into a ticket owned by the
// user with the transcript attached, and closed.
func (s *Service) SendChatMessage(ctx context.Context, actor *desk.User, chatID int64, body string) (*ChatPost, error) {
	if !desk.CanStartChat(actor) {
		return nil, ErrNotAuthenticated
	}
	var chat *desk.Chat
	var err error
	if chatID != 0 {
		if chat, err = s.chat(ctx, actor, chatID); err != nil {
			return nil, err
		}
		if !desk.CanPostChat(actor, chat) {
			return nil, desk.Errorf(desk.KindConflict, "This chat has ended.")
		}
	}
	body, err = desk.ValidateChatMessage(body)
	if err != nil {
		return nil, err
	}
	if chat == nil {
		var created bool
		if chat, created, err = s.store.OpenChat(ctx, actor.ID, s.now()); err != nil {
			return nil, err
		}
		if created {
			s.log.InfoContext(ctx, "chat started", "chat_id", chat.ID, "user_id", actor.ID)
			s.publish(ctx, chatEvent(desk.EventChatStarted, chat))
		}
	}
	m := &desk.ChatMessage{ChatID: chat.ID, Author: actor.Ref(), FromAgent: actor.IsAdmin() && chat.User.ID != actor.ID,
		Body: body, CreatedAt: s.now()}
	// Nobody to answer: the admins hear of it by mail, written with the
	// message. It is held until the chat becomes a ticket below, which
	// releases it naming the ticket (and sends no mail of its own); should
	// that never happen, it goes out after Mailer.ChatHold anyway.
	offline := !m.FromAgent && s.AgentsOnline(actor) == 0
	var mails []desk.Mail
	if offline {
		if mails, err = s.adminMails(ctx, desk.NoticeChat, actor, mail.Content{Actor: actor.Username, Body: body}); err != nil {
			return nil, err
		}
		for i := range mails {
			mails[i].CreatedAt, mails[i].NextAttemptAt = m.CreatedAt, m.CreatedAt.Add(s.cfg.Mailer.ChatHold)
		}
	}
	if err := s.store.AddChatMessage(ctx, m, mails...); err != nil {
		return nil, err
	}
	chat.UpdatedAt, chat.LastMessage = m.CreatedAt, m.Body
	e := chatEvent(desk.EventChatMessage, chat)
	e.Message = m
	s.publish(ctx, e)
	out := &ChatPost{Chat: chat, Message: m}
	if offline {
		t, err := s.convertChat(ctx, actor, chat, ChatTicket{}, false)
		if err != nil {
			return nil, err
		}
		out.Ticket, out.Offline = t, true
		s.wakeMailer(mails)
		s.log.InfoContext(ctx, "no agent online: chat became a ticket", "chat_id", chat.ID, "ticket_id", t.ID)
	}
	return out, nil
}

func chatEvent(kind desk.EventKind, c *desk.Chat) desk.Event {
	cp := *c
	return desk.Event{Kind: kind, Audience: desk.AudienceOwner, OwnerID: c.User.ID, ChatID: c.ID, Chat: &cp}
}

// chat returns a chat the actor may view, else KindNotFound.
func (s *Service) chat(ctx context.Context, actor *desk.User, id int64) (*desk.Chat, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	c, err := s.store.ChatByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !desk.CanViewChat(actor, c) {
		return nil, desk.ErrNotFound
	}
	return c, nil
}

// Chat returns a chat the actor may view and its messages after afterID.
func (s *Service) Chat(ctx context.Context, actor *desk.User, id, afterID int64) (*desk.Chat, []desk.ChatMessage, error) {
	c, err := s.chat(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := s.store.ChatMessages(ctx, id, afterID)
	return c, msgs, err
}

// MyChat returns the actor's open chat and its messages, or a nil chat.
func (s *Service) MyChat(ctx context.Context, actor *desk.User) (*desk.Chat, []desk.ChatMessage, error) {
	if !desk.CanStartChat(actor) {
		return nil, nil, ErrNotAuthenticated
	}
	c, err := s.store.OpenChatOf(ctx, actor.ID)
	if desk.IsKind(err, desk.KindNotFound) {
		return nil, []desk.ChatMessage{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	msgs, err := s.store.ChatMessages(ctx, c.ID, 0)
	return c, msgs, err
}

// Chats lists chats, most recently active first: every chat for admins
// (the agent inbox), the actor's own for users. status is "", "open" or
// "closed".
func (s *Service) Chats(ctx context.Context, actor *desk.User, status string) ([]desk.Chat, error) {
	if !desk.CanStartChat(actor) {
		return nil, ErrNotAuthenticated
	}
	f := store.ChatFilter{}
	if status != "" {
		st, ok := desk.ParseChatStatus(status)
		if !ok {
			return nil, desk.Invalid("status", `Must be "open" or "closed".`)
		}
		f.Status = st
	}
	if !desk.CanListAllChats(actor) {
		f.UserID = actor.ID
	}
	return s.store.Chats(ctx, f)
}

// ChatTyping tells the other side of an open chat that actor is typing.
// Nothing is stored.
func (s *Service) ChatTyping(ctx context.Context, actor *desk.User, id int64) error {
	c, err := s.chat(ctx, actor, id)
	if err != nil {
		return err
	}
	if !desk.CanPostChat(actor, c) {
		return desk.Errorf(desk.KindConflict, "This chat has ended.")
	}
	ref := actor.Ref()
	e := desk.Event{Kind: desk.EventChatTyping, Audience: desk.AudienceAdmins, OwnerID: c.User.ID, ChatID: c.ID, Typing: &ref}
	if actor.ID != c.User.ID {
		e.Audience = desk.AudienceOwner // an agent typing: the user and the other agents
	}
	s.publish(ctx, e)
	return nil
}

// CloseChat ends an open chat (its user or an admin).
func (s *Service) CloseChat(ctx context.Context, actor *desk.User, id int64) (*desk.Chat, error) {
	c, err := s.chat(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !desk.CanCloseChat(actor, c) {
		return nil, desk.Errorf(desk.KindConflict, "This chat has already ended.")
	}
	if c, err = s.store.CloseChat(ctx, id, s.now()); err != nil {
		return nil, err
	}
	s.publish(ctx, chatEvent(desk.EventChatClosed, c))
	return c, nil
}

// ChatTicket is how an admin wants a chat filed; empty fields take
// defaults (title from the first message, category Technical, priority
// Medium).
type ChatTicket struct {
	Title, Category, Priority string
}

// ConvertChat turns a chat into a ticket owned by the chat's user, with the
// transcript attached as a text file, links the two and closes the chat
// (admins; once per chat: KindConflict after).
func (s *Service) ConvertChat(ctx context.Context, actor *desk.User, id int64, in ChatTicket) (*desk.Ticket, error) {
	c, err := s.chat(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !actor.IsAdmin() {
		return nil, forbidden()
	}
	if !desk.CanConvertChat(actor, c) {
		return nil, desk.Errorf(desk.KindConflict, "This chat is already ticket #%d.", c.TicketID)
	}
	return s.convertChat(ctx, actor, c, in, true)
}

// convertChat files c as a ticket; notify says whether the admins get a
// new-ticket mail (not when they were already told of the chat).
func (s *Service) convertChat(ctx context.Context, actor *desk.User, c *desk.Chat, in ChatTicket, notify bool) (t *desk.Ticket, err error) {
	msgs, err := s.store.ChatMessages(ctx, c.ID, 0)
	if err != nil {
		return nil, err
	}
	first := ""
	var userText []string
	for _, m := range msgs {
		if m.Author.ID == c.User.ID {
			if first == "" {
				first = m.Body
			}
			userText = append(userText, m.Body)
		}
	}
	if in.Title == "" {
		in.Title = desk.ChatTitle(first)
	}
	if in.Category == "" {
		in.Category = string(desk.CategoryTechnical)
	}
	transcript := desk.ChatTranscript(c, msgs)
	desc := strings.Join(userText, "\n\n")
	if desc == "" {
		desc = "(no message from the user)"
	}
	desc += "\n\n— from live chat #" + strconv.FormatInt(c.ID, 10) + "; the full transcript is attached."
	nt := desk.NewTicket{Title: in.Title, Description: desc, Category: in.Category, Priority: in.Priority}
	if r := []rune(nt.Description); len(r) > desk.MaxDescriptionLen {
		nt.Description = string(r[:desk.MaxDescriptionLen-1]) + "…"
	}
	cat, prio, err := nt.Validate()
	if err != nil {
		return nil, err
	}
	owner, err := s.store.UserByID(ctx, c.User.ID)
	if err != nil {
		return nil, err
	}
	f, err := s.StageAttachment(ctx, actor, "chat-"+strconv.FormatInt(c.ID, 10)+"-transcript.txt", strings.NewReader(transcript))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Discard(context.WithoutCancel(ctx), []Staged{f})
		}
	}()
	now := s.now()
	t = &desk.Ticket{Title: nt.Title, Description: nt.Description, Category: cat, Status: desk.StatusNew, Priority: prio,
		CreatedBy: owner.Ref(), CreatedAt: now, UpdatedAt: now, Attachments: []desk.Attachment{f.attachment(actor.ID, now)}}
	var mails []desk.Mail
	if notify {
		if mails, err = s.newTicketMails(ctx, actor, t); err != nil {
			return nil, err
		}
	}
	if err := s.store.CreateTicketFromChat(ctx, t, c.ID, now, mails...); err != nil {
		return nil, err
	}
	s.wakeMailer(mails)
	s.log.InfoContext(ctx, "chat became a ticket", "chat_id", c.ID, "ticket_id", t.ID, "by", actor.ID)
	s.publish(ctx, ticketEvent(desk.EventTicketCreated, t))
	c.Status, c.TicketID, c.UpdatedAt = desk.ChatClosed, t.ID, now
	if c.ClosedAt.IsZero() {
		c.ClosedAt = now
	}
	s.publish(ctx, chatEvent(desk.EventChatClosed, c))
	return t, nil
}
