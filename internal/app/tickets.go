package app

import (
	"context"
	"strconv"
	"strings"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store"
)

// TicketQuery is a ticket-list request. Strings are raw request values and
// are validated here: unknown enum values are errors, not ignored.
type TicketQuery struct {
	Category, Status, Search, Ordering string
	Page, PageSize                     string
	Cursor                             string
}

// Paging limits.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	// MaxOffset bounds page-number paging; deeper pages use the cursor.
	MaxOffset = 50000
)

// TicketList is one page of a ticket list.
type TicketList struct {
	*store.TicketPage
	Page     int // 1-based page number (page-number paging), 0 with a cursor
	PageSize int
}

// Tickets lists the tickets actor may see: all for admins, their own for
// users.
func (s *Service) Tickets(ctx context.Context, actor *desk.User, q TicketQuery) (*TicketList, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	f, page, size, err := parseTicketQuery(q)
	if err != nil {
		return nil, err
	}
	if !desk.CanListAllTickets(actor) {
		f.OwnerID = actor.ID
	}
	p, err := s.store.Tickets(ctx, f)
	if err != nil {
		return nil, err
	}
	return &TicketList{TicketPage: p, Page: page, PageSize: size}, nil
}

// WriteVersion returns a number that changes after every write this
// process commits (but the search index's merges, which change nothing a
// reader sees), and whether it stands for every write to the database
// (SQLite: yes; PostgreSQL, where other instances write: no). A page read
// while the number was v shows every write committed before v.
func (s *Service) WriteVersion() (uint64, bool) { return s.store.WriteVersion() }

func parseTicketQuery(q TicketQuery) (store.TicketFilter, int, int, error) {
	var f store.TicketFilter
	var errs desk.FieldErrors
	if q.Category != "" {
		c, ok := desk.ParseCategory(q.Category)
		if !ok {
			errs.Add("category", `Must be one of "Technical", "Financial", "Product".`)
		}
		f.Category = c
	}
	if q.Status != "" {
		st, ok := desk.ParseStatus(q.Status)
		if !ok {
			errs.Add("status", `Must be one of "New", "Under Review", "Resolved".`)
		}
		f.Status = st
	}
	f.Search = strings.TrimSpace(q.Search)
	if len(f.Search) > 500 {
		errs.Add("search", "Ensure this field has no more than 500 characters.")
	}
	if q.Ordering != "" {
		o, ok := store.ParseOrder(q.Ordering)
		if !ok || (o == store.OrderRelevance && f.Search == "") {
			names := make([]string, 0, len(store.Orders))
			for _, o := range store.Orders {
				names = append(names, string(o))
			}
			errs.Add("ordering", "Must be one of "+strings.Join(names, ", ")+" (relevance only with search).")
		}
		f.Order = o
	}
	size := DefaultPageSize
	if q.PageSize != "" {
		n, err := strconv.Atoi(q.PageSize)
		if err != nil || n < 1 || n > MaxPageSize {
			errs.Add("page_size", "Must be a whole number from 1 to 100.")
		}
		size = n
	}
	page := 1
	if q.Page != "" {
		n, err := strconv.Atoi(q.Page)
		if err != nil || n < 1 {
			errs.Add("page", "Must be a whole number from 1.")
		} else if (n-1)*size > MaxOffset {
			errs.Add("page", "Too deep for page numbers; follow the `next` link, which uses a cursor.")
		}
		page = n
	}
	if q.Cursor != "" {
		c, ok := store.DecodeCursor(q.Cursor)
		if !ok || (f.Order != "" && c.Order != f.Order) {
			errs.Add("cursor", "Invalid cursor.")
		}
		f.After, f.Order, page = &c, c.Order, 0
	}
	if err := errs.Err(); err != nil {
		return f, 0, 0, err
	}
	f.Limit = size
	if page > 1 {
		f.Offset = (page - 1) * size
	}
	return f, page, size, nil
}

// Ticket returns a ticket the actor may see; any other is KindNotFound, so
// that existence is not disclosed.
func (s *Service) Ticket(ctx context.Context, actor *desk.User, id int64) (*desk.Ticket, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	t, err := s.store.TicketByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !desk.CanViewTicket(actor, t) {
		return nil, desk.ErrNotFound
	}
	return t, nil
}

// CreateTicket opens a ticket for actor with the staged attachments. The
// ticket, its first history entry and its attachments commit together; on
// any failure the staged bytes are deleted.
func (s *Service) CreateTicket(ctx context.Context, actor *desk.User, in desk.NewTicket, files []Staged) (t *desk.Ticket, err error) {
	defer func() {
		if err != nil {
			s.Discard(context.WithoutCancel(ctx), files)
		}
	}()
	if !desk.CanCreateTicket(actor) {
		return nil, ErrNotAuthenticated
	}
	cat, prio, err := in.Validate()
	if err != nil {
		return nil, err
	}
	if len(files) > s.cfg.MaxAttachments {
		return nil, desk.Invalid("attachment", "At most "+strconv.Itoa(s.cfg.MaxAttachments)+" files per ticket.")
	}
	now := s.now()
	t = &desk.Ticket{Title: in.Title, Description: in.Description, Category: cat, Status: desk.StatusNew,
		Priority: prio, CreatedBy: actor.Ref(), CreatedAt: now, UpdatedAt: now}
	for _, f := range files {
		t.Attachments = append(t.Attachments, f.attachment(actor.ID, now))
	}
	mails, err := s.newTicketMails(ctx, actor, t)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateTicket(ctx, t, mails...); err != nil {
		return nil, err
	}
	s.wakeMailer(mails)
	s.log.InfoContext(ctx, "ticket created", "ticket_id", t.ID, "user_id", actor.ID, "attachments", len(files))
	s.publish(ctx, ticketEvent(desk.EventTicketCreated, t))
	return t, nil
}

// ChangeStatus moves a ticket to a new status (admins only) and records
// who did it, when, and the optional note. The owner asking gets
// KindForbidden; anyone who cannot see the ticket gets KindNotFound.
func (s *Service) ChangeStatus(ctx context.Context, actor *desk.User, id int64, status, note string) (*desk.Ticket, *desk.StatusChange, error) {
	t, err := s.Ticket(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	if !desk.CanChangeStatus(actor, t) {
		return nil, nil, desk.Errorf(desk.KindForbidden, "Only admins can change a ticket's status.")
	}
	to, ok := desk.ParseStatus(strings.TrimSpace(status))
	if !ok {
		if status == "" {
			return nil, nil, desk.Invalid("status", "This field is required.")
		}
		return nil, nil, desk.Invalid("status", `Must be one of "New", "Under Review", "Resolved".`)
	}
	note = strings.TrimSpace(note)
	if len([]rune(note)) > desk.MaxNoteLen {
		return nil, nil, desk.Invalid("note", "Ensure this field has no more than 2000 characters.")
	}
	if to == t.Status {
		return nil, nil, desk.Invalid("status", "The ticket is already "+string(to)+".")
	}
	if !desk.CanTransition(t.Status, to) {
		return nil, nil, desk.Invalid("status", "A "+string(t.Status)+" ticket cannot move to "+string(to)+".")
	}
	c := &desk.StatusChange{TicketID: id, From: t.Status, To: to, By: actor.Ref(), Note: note, At: s.now()}
	mails, err := s.ownerMail(ctx, desk.NoticeStatus, actor, t, mail.Content{Title: t.Title, Actor: actor.Username,
		From: string(c.From), To: string(c.To), Note: note})
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.UpdateTicketStatus(ctx, c, mails...); err != nil {
		return nil, nil, err
	}
	s.wakeMailer(mails)
	t.Status, t.UpdatedAt = to, c.At
	s.log.InfoContext(ctx, "ticket status changed", "ticket_id", id, "by", actor.ID, "from", c.From, "to", to)
	e := ticketEvent(desk.EventTicketUpdated, t)
	e.Change = c
	s.publish(ctx, e)
	return t, c, nil
}

// StatusHistory returns the status changes of a ticket the actor may see.
func (s *Service) StatusHistory(ctx context.Context, actor *desk.User, id int64) ([]desk.StatusChange, error) {
	if _, err := s.Ticket(ctx, actor, id); err != nil {
		return nil, err
	}
	return s.store.StatusHistory(ctx, id)
}
