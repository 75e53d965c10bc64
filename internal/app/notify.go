package app

import (
	"context"
	"encoding/json"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
)

// The mails of a change are decided before it is stored and handed to the
// store call, which writes them to the outbox in the change's own
// transaction: a change that commits always has its mails, one that rolls
// back never does. RunMailer sends them afterwards.

// maxMailBody bounds user text quoted in a mail, in characters.
const maxMailBody = 5000

// mailData is what an outbox row stores: whom it greets and what it says.
type mailData struct {
	Recipient string       `json:"recipient"`
	Content   mail.Content `json:"content"`
}

// newMail addresses c to u as notice n.
func newMail(n desk.Notice, u *desk.User, c mail.Content) desk.Mail {
	if r := []rune(c.Body); len(r) > maxMailBody {
		c.Body = string(r[:maxMailBody-1]) + "…"
	}
	data, _ := json.Marshal(mailData{Recipient: u.Username, Content: c}) // cannot fail: strings only
	return desk.Mail{Notice: n, UserID: u.ID, To: u.Email, Data: data}
}

// ownerMail returns the mail telling t's owner about notice n caused by
// actor, or none: not to the actor themselves, not to an inactive owner,
// not when the owner turned n off.
func (s *Service) ownerMail(ctx context.Context, n desk.Notice, actor *desk.User, t *desk.Ticket, c mail.Content) ([]desk.Mail, error) {
	if actor != nil && actor.ID == t.CreatedBy.ID {
		return nil, nil
	}
	owner, err := s.store.UserByID(ctx, t.CreatedBy.ID)
	if err != nil {
		return nil, err
	}
	off, err := s.store.MailOptOuts(ctx, n, []int64{owner.ID})
	if err != nil {
		return nil, err
	}
	if !desk.ShouldNotify(n, actor, owner, off[owner.ID]) {
		return nil, nil
	}
	return []desk.Mail{newMail(n, owner, c)}, nil
}

// adminMails returns notice n for every active admin except actor and
// those who turned it off, or none when the notice is turned off in the
// configuration.
func (s *Service) adminMails(ctx context.Context, n desk.Notice, actor *desk.User, c mail.Content) ([]desk.Mail, error) {
	if (n == desk.NoticeNewTicket && !s.cfg.MailAdminsNewTicket) || (n == desk.NoticeChat && !s.cfg.MailAdminsChat) {
		return nil, nil
	}
	admins, err := s.store.ActiveAdmins(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(admins))
	for i := range admins {
		ids[i] = admins[i].ID
	}
	off, err := s.store.MailOptOuts(ctx, n, ids)
	if err != nil {
		return nil, err
	}
	var out []desk.Mail
	for i := range admins {
		if desk.ShouldNotify(n, actor, &admins[i], off[admins[i].ID]) {
			out = append(out, newMail(n, &admins[i], c))
		}
	}
	return out, nil
}

// newTicketMails tells the admins about t, opened by (or for) its owner.
func (s *Service) newTicketMails(ctx context.Context, actor *desk.User, t *desk.Ticket) ([]desk.Mail, error) {
	return s.adminMails(ctx, desk.NoticeNewTicket, actor, mail.Content{Title: t.Title, Actor: t.CreatedBy.Username,
		Body: t.Description, Category: string(t.Category), Priority: string(t.Priority)})
}

// wakeMailer tells RunMailer that mail is waiting; it never blocks.
func (s *Service) wakeMailer(mails []desk.Mail) {
	if len(mails) == 0 {
		return
	}
	select {
	case s.mailWake <- struct{}{}:
	default:
	}
}
