package realtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
)

var (
	owner = &desk.User{ID: 1, Role: desk.RoleUser, Active: true}
	other = &desk.User{ID: 2, Role: desk.RoleUser, Active: true}
	admin = &desk.User{ID: 3, Role: desk.RoleAdmin, Active: true}
)

// next returns the next delivery, failing if none arrives (the wait only
// guards against a hang; nothing is timed).
func next(t *testing.T, s *Sub) Delivery {
	t.Helper()
	select {
	case d := <-s.C():
		return d
	case <-s.Done():
		t.Fatalf("subscription ended: %v", s.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	return Delivery{}
}

// none checks that nothing is queued for s (deliveries are synchronous:
// Publish returns after queueing).
func none(t *testing.T, s *Sub, who string) {
	t.Helper()
	select {
	case d := <-s.C():
		t.Fatalf("%s received %+v", who, d.Event)
	default:
	}
}

func sub(t *testing.T, h *Hub, u *desk.User, f Filter) *Sub {
	t.Helper()
	s, _, _, err := h.Subscribe(u, f, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestHubRechecksRightsOnEveryPush(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	so, sx, sa := sub(t, h, owner, Filter{}), sub(t, h, other, Filter{}), sub(t, h, admin, Filter{})
	sTicket := sub(t, h, owner, Filter{TicketID: 10})
	sOtherTicket := sub(t, h, admin, Filter{TicketID: 11})
	ctx := context.Background()

	h.Publish(ctx, desk.Event{Kind: desk.EventCommentAdded, Audience: desk.AudienceOwner, OwnerID: 1, TicketID: 10, Comment: &desk.Comment{Body: "reply"}})
	for _, s := range []*Sub{so, sa, sTicket} {
		if d := next(t, s); d.Event.Comment.Body != "reply" || d.ID == "" {
			t.Fatalf("reply: %+v", d)
		}
	}
	none(t, sx, "another user")
	none(t, sOtherTicket, "a stream of another ticket")

	h.Publish(ctx, desk.Event{Kind: desk.EventCommentAdded, Audience: desk.AudienceAdmins, OwnerID: 1, TicketID: 10, Comment: &desk.Comment{Body: "note", Internal: true}})
	if d := next(t, sa); d.Event.Comment.Body != "note" {
		t.Fatal("admin missed the note")
	}
	none(t, so, "the owner (internal note)")
	none(t, sTicket, "the owner's ticket stream (internal note)")
	none(t, sx, "another user")

	if _, _, _, err := h.Subscribe(&desk.User{ID: 4, Active: false}, Filter{}, ""); err == nil {
		t.Fatal("inactive user subscribed")
	}
}

func TestHubClosesStreamsOnAccessChange(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	a, b, keep := sub(t, h, owner, Filter{}), sub(t, h, owner, Filter{TicketID: 10}), sub(t, h, other, Filter{})
	h.Publish(context.Background(), desk.Event{Kind: desk.EventUserAccess, Audience: desk.AudienceNobody, OwnerID: owner.ID})
	for _, s := range []*Sub{a, b} {
		<-s.Done()
		if !errors.Is(s.Err(), ErrAccessChanged) {
			t.Fatalf("err %v", s.Err())
		}
	}
	select {
	case <-keep.Done():
		t.Fatal("another user's stream closed")
	default:
	}
	none(t, keep, "another user (control event)")
}

func TestHubDropsSlowSubscribers(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{Buffer: 4})
	slow, fast := sub(t, h, admin, Filter{}), sub(t, h, admin, Filter{})
	for i := 0; i < 10; i++ {
		h.Publish(context.Background(), desk.Event{Kind: desk.EventTicketCreated, OwnerID: 1, TicketID: int64(i + 1)})
		next(t, fast)
	}
	<-slow.Done()
	if !errors.Is(slow.Err(), ErrSlow) || h.Subscribers() != 1 {
		t.Fatalf("slow subscriber: %v, %d left", slow.Err(), h.Subscribers())
	}
	if len(slow.C()) > 4 {
		t.Fatalf("buffer grew to %d", len(slow.C()))
	}
}

func TestHubResume(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{Backlog: 8})
	s := sub(t, h, owner, Filter{})
	pub := func(owner int64, internal bool) {
		aud := desk.AudienceOwner
		if internal {
			aud = desk.AudienceAdmins
		}
		h.Publish(context.Background(), desk.Event{Kind: desk.EventCommentAdded, Audience: aud, OwnerID: owner, TicketID: 10,
			Comment: &desk.Comment{Internal: internal}})
	}
	pub(1, false)
	first := next(t, s)
	pub(1, false)
	pub(2, false) // another user's
	pub(1, true)  // internal
	pub(1, false)
	s2, backlog, reset, err := h.Subscribe(owner, Filter{}, first.ID)
	if err != nil || reset {
		t.Fatalf("resume: %v %v", reset, err)
	}
	defer s2.Close()
	if len(backlog) != 2 {
		t.Fatalf("backlog has %d events, want the owner's 2", len(backlog))
	}
	for _, d := range backlog {
		if d.Event.OwnerID != 1 || d.Event.Comment.Internal {
			t.Fatalf("backlog leaks %+v", d.Event)
		}
	}
	// Too old, foreign or malformed ids ask for a reload.
	for i := 0; i < 10; i++ {
		pub(1, false)
	}
	for _, id := range []string{first.ID, "deadbeef-1", "garbage", strings.Split(first.ID, "-")[0] + "-999999"} {
		s3, backlog, reset, _ := h.Subscribe(owner, Filter{}, id)
		s3.Close()
		if !reset || len(backlog) != 0 {
			t.Errorf("resume from %q: reset=%v backlog=%d", id, reset, len(backlog))
		}
	}
}

func TestHubPresence(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{PresenceEvery: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	u := sub(t, h, owner, Filter{})
	if n := len(h.AgentsOnline()); n != 0 {
		t.Fatalf("%d agents", n)
	}
	a1 := sub(t, h, admin, Filter{})
	a2 := sub(t, h, admin, Filter{TicketID: 5}) // the same admin twice
	if ids := h.AgentsOnline(); len(ids) != 1 || ids[0] != admin.ID {
		t.Fatalf("agents %v", ids)
	}
	if d := next(t, u); d.Event.Kind != desk.EventPresence || d.Event.AgentsOnline != 1 || d.ID != "" {
		t.Fatalf("presence: %+v", d)
	}
	a1.Close()
	if len(h.AgentsOnline()) != 1 {
		t.Fatal("agent gone while a stream is open")
	}
	a2.Close()
	if len(h.AgentsOnline()) != 0 {
		t.Fatal("agent still online")
	}
	if d := next(t, u); d.Event.AgentsOnline != 0 {
		t.Fatalf("presence: %+v", d.Event)
	}
	// A peer's agents count until it says otherwise or goes silent.
	h.Receive([]byte(`{"o":"peer","p":true,"a":[7,3]}`))
	if ids := h.AgentsOnline(); len(ids) != 2 {
		t.Fatalf("with peer: %v", ids)
	}
	h.Receive([]byte(`{"o":"peer","p":true}`))
	if ids := h.AgentsOnline(); len(ids) != 0 {
		t.Fatalf("after peer left: %v", ids)
	}
	h.Receive([]byte(`not json`)) // ignored
}
