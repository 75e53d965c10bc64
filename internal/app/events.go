package app

import (
	"context"

	"ticketflow/internal/desk"
)

// Publisher receives events after their change is committed; it must not
// block (a slow receiver is its problem, not the request's).
// *realtime.Hub implements it.
type Publisher interface {
	Publish(ctx context.Context, e desk.Event)
}

// Presence reports the admins connected to a live stream on any instance.
// *realtime.Hub implements it.
type Presence interface {
	AgentsOnline() []int64
}

type discard struct{}

func (discard) Publish(context.Context, desk.Event) {}
func (discard) AgentsOnline() []int64               { return nil }

// publish hands e to the publisher, stamped with the service clock. Call it
// only after the change it describes is committed.
func (s *Service) publish(ctx context.Context, e desk.Event) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.events.Publish(context.WithoutCancel(ctx), e)
}

// AgentsOnline returns how many admins other than actor are connected.
func (s *Service) AgentsOnline(actor *desk.User) int {
	n := 0
	for _, id := range s.agents.AgentsOnline() {
		if actor == nil || id != actor.ID {
			n++
		}
	}
	return n
}

func ticketEvent(kind desk.EventKind, t *desk.Ticket) desk.Event {
	return desk.Event{Kind: kind, Audience: desk.AudienceOwner, OwnerID: t.CreatedBy.ID, TicketID: t.ID, Ticket: t}
}
