package app

import (
	"context"
	"strconv"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store"
)

// Comments returns the conversation of a ticket the actor may see, oldest
// first: public replies, and internal notes too for admins. afterID > 0
// returns only newer comments (for catching up after a stream reset).
func (s *Service) Comments(ctx context.Context, actor *desk.User, ticketID, afterID int64) ([]desk.Comment, error) {
	if _, err := s.Ticket(ctx, actor, ticketID); err != nil {
		return nil, err
	}
	return s.store.Comments(ctx, store.CommentFilter{TicketID: ticketID, IncludeInternal: actor.IsAdmin(), AfterID: afterID})
}

// NewComment is a reply or internal note as submitted.
type NewComment struct {
	Body     string
	Internal bool
}

// AddComment posts on a ticket's conversation with the staged files
// attached: the owner and admins reply, admins also write internal notes.
// Anyone who cannot see the ticket gets KindNotFound; the owner asking for
// an internal note gets KindForbidden. On any failure the staged bytes are
// deleted. After commit the comment is published (notes to admins only).
func (s *Service) AddComment(ctx context.Context, actor *desk.User, ticketID int64, in NewComment, files []Staged) (c *desk.Comment, err error) {
	defer func() {
		if err != nil {
			s.Discard(context.WithoutCancel(ctx), files)
		}
	}()
	t, err := s.Ticket(ctx, actor, ticketID)
	if err != nil {
		return nil, err
	}
	if !desk.CanComment(actor, t, in.Internal) {
		return nil, desk.Errorf(desk.KindForbidden, "Only admins can write internal notes.")
	}
	body, err := desk.ValidateComment(in.Body)
	if err != nil {
		return nil, err
	}
	if len(files) > s.cfg.MaxAttachments {
		return nil, desk.Invalid("attachment", "At most "+strconv.Itoa(s.cfg.MaxAttachments)+" files per reply.")
	}
	now := s.now()
	c = &desk.Comment{TicketID: t.ID, Author: actor.Ref(), Body: body, Internal: in.Internal, CreatedAt: now}
	for _, f := range files {
		c.Attachments = append(c.Attachments, f.attachment(actor.ID, now))
	}
	var mails []desk.Mail
	if n, ok := desk.CommentNotice(c); ok { // never for an internal note
		if mails, err = s.ownerMail(ctx, n, actor, t, mail.Content{Title: t.Title, Actor: actor.Username, Body: c.Body}); err != nil {
			return nil, err
		}
	}
	if err := s.store.CreateComment(ctx, c, mails...); err != nil {
		return nil, err
	}
	s.wakeMailer(mails)
	s.log.InfoContext(ctx, "comment added", "ticket_id", t.ID, "comment_id", c.ID, "by", actor.ID, "internal", c.Internal)
	e := desk.Event{Kind: desk.EventCommentAdded, Audience: desk.AudienceOwner, OwnerID: t.CreatedBy.ID, TicketID: t.ID, Comment: c}
	if c.Internal {
		e.Audience = desk.AudienceAdmins
	}
	s.publish(ctx, e)
	return c, nil
}
