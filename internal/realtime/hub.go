// Package realtime fans events out to connected clients: an in-process hub
// with bounded per-subscriber buffers, agent presence, resumable event ids,
// and an optional PostgreSQL LISTEN/NOTIFY bridge that joins the hubs of
// several instances. Who may receive what is decided by desk.CanReceive,
// checked again for every subscriber on every event.
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ticketflow/internal/desk"
)

// Peers carries encoded hub messages to the other instances; *PG is one.
type Peers interface {
	Send(ctx context.Context, msg []byte) error
}

// Config tunes a Hub. Zero values take the defaults noted.
type Config struct {
	Buffer  int // events queued per subscriber before it is dropped; default 128
	Backlog int // recent events kept for Last-Event-ID resumes; default 512
	// PresenceEvery is how often an instance re-announces its connected
	// agents to its peers; an instance silent for three periods is presumed
	// gone. Default 10s.
	PresenceEvery time.Duration
	Peers         Peers // nil: a single instance
	Log           *slog.Logger
}

// Errors a subscription ends with.
var (
	ErrSlow          = errors.New("realtime: subscriber too slow; events dropped")
	ErrAccessChanged = errors.New("realtime: the user's access changed")
	ErrClosed        = errors.New("realtime: hub closed")
)

// Delivery is one event for one subscriber. ID is empty for ephemeral
// events (typing, presence), which are not replayed. Reset means events
// may have been missed and the client should reload what it shows.
type Delivery struct {
	ID    string
	Event *desk.Event
	Reset bool
}

// Filter narrows a subscription; zero fields do not filter.
type Filter struct {
	TicketID int64
	ChatID   int64
}

func (f Filter) match(e *desk.Event) bool {
	return (f.TicketID == 0 || e.TicketID == f.TicketID) && (f.ChatID == 0 || e.ChatID == f.ChatID)
}

// Hub is the in-process event exchange. Its methods are safe for
// concurrent use.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	origin string // this instance, to ignore its own messages from peers
	epoch  string // prefix of event ids: ids of another process never resume

	mu      sync.Mutex
	subs    map[*Sub]struct{}
	seq     uint64
	ring    []stamped // circular backlog
	agents  map[int64]int
	remote  map[string]remoteAgents
	online  int
	closed  bool
	outbox  chan []byte
	changed chan struct{} // local agent set changed: announce now
}

type stamped struct {
	seq uint64
	e   *desk.Event
}

type remoteAgents struct {
	ids     []int64
	expires time.Time
}

// NewHub returns a hub. Call Run to serve peers and presence.
func NewHub(cfg Config) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 128
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = 512
	}
	if cfg.PresenceEvery <= 0 {
		cfg.PresenceEvery = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Hub{cfg: cfg, log: cfg.Log, origin: randomID(), epoch: randomID()[:8],
		subs: map[*Sub]struct{}{}, ring: make([]stamped, 0, cfg.Backlog),
		agents: map[int64]int{}, remote: map[string]remoteAgents{},
		outbox: make(chan []byte, 1024), changed: make(chan struct{}, 1)}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wire is what hubs tell each other.
type wire struct {
	Origin string      `json:"o"`
	Event  *desk.Event `json:"e,omitempty"`
	Agents []int64     `json:"a,omitempty"`
	// Presence marks an agent announcement (Agents may be empty).
	Presence bool `json:"p,omitempty"`
}

// Publish delivers e to the local subscribers allowed to receive it and
// queues it for the peers. Call it only after e's change is committed. It
// never blocks on a slow subscriber or peer.
func (h *Hub) Publish(_ context.Context, e desk.Event) {
	h.deliver(&e)
	if h.cfg.Peers != nil {
		b, err := json.Marshal(wire{Origin: h.origin, Event: &e})
		if err != nil {
			h.log.Error("encode event", "kind", e.Kind, "err", err)
			return
		}
		h.enqueue(b)
	}
}

func (h *Hub) enqueue(b []byte) {
	select {
	case h.outbox <- b:
	default:
		h.log.Warn("realtime: peer queue full; event not shared with other instances")
	}
}

// Receive handles a message from a peer (see PG.Run).
func (h *Hub) Receive(b []byte) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		h.log.Warn("realtime: undecodable peer message", "err", err)
		return
	}
	if w.Origin == h.origin {
		return
	}
	if w.Presence {
		h.mu.Lock()
		if len(w.Agents) == 0 {
			delete(h.remote, w.Origin)
		} else {
			h.remote[w.Origin] = remoteAgents{ids: w.Agents, expires: time.Now().Add(3 * h.cfg.PresenceEvery)}
		}
		h.mu.Unlock()
		h.presenceChanged()
		return
	}
	if w.Event != nil {
		h.deliver(w.Event)
	}
}

// Gap tells every subscriber that events may have been missed (the link to
// the peers was down), so that clients reload what they show.
func (h *Hub) Gap() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.send(s, Delivery{Reset: true})
	}
	h.announceLocked()
}

func ephemeral(k desk.EventKind) bool { return k == desk.EventChatTyping || k == desk.EventPresence }

func (h *Hub) deliver(e *desk.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if e.Kind == desk.EventUserAccess {
		for s := range h.subs {
			if s.user.ID == e.OwnerID {
				h.dropLocked(s, ErrAccessChanged)
			}
		}
		return
	}
	d := Delivery{Event: e}
	if !ephemeral(e.Kind) {
		h.seq++
		st := stamped{seq: h.seq, e: e}
		if len(h.ring) < cap(h.ring) {
			h.ring = append(h.ring, st)
		} else {
			h.ring[int((h.seq-1)%uint64(cap(h.ring)))] = st
		}
		d.ID = h.id(h.seq)
	}
	for s := range h.subs {
		if s.filter.match(e) && desk.CanReceive(s.user, e) {
			h.send(s, d)
		}
	}
}

func (h *Hub) id(seq uint64) string { return h.epoch + "-" + strconv.FormatUint(seq, 10) }

// send queues d for s, dropping s if its buffer is full. h.mu is held.
func (h *Hub) send(s *Sub, d Delivery) {
	select {
	case s.ch <- d:
	default:
		h.dropLocked(s, ErrSlow)
	}
}

func (h *Hub) dropLocked(s *Sub, why error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.err = why
	close(s.done)
	if s.agent {
		if h.agents[s.user.ID]--; h.agents[s.user.ID] <= 0 {
			delete(h.agents, s.user.ID)
			h.signalChange()
		}
	}
}

func (h *Hub) signalChange() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// Sub is one subscription: a stream's view of the hub.
type Sub struct {
	hub    *Hub
	user   *desk.User
	filter Filter
	agent  bool
	ch     chan Delivery
	done   chan struct{}
	err    error // set before done is closed
}

// C delivers the subscriber's events.
func (s *Sub) C() <-chan Delivery { return s.ch }

// Done is closed when the hub ends the subscription; Err then says why.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended (after Done is closed).
func (s *Sub) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription. It is idempotent.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	s.hub.dropLocked(s, context.Canceled)
	s.hub.mu.Unlock()
}

// Subscribe starts delivering to u the events it may receive that match f.
// An active admin's subscription counts as an agent online. lastID is the
// client's Last-Event-ID: the events it missed that are still in the
// backlog are returned, re-checked against u's rights now; reset is true
// when lastID cannot be resumed (another process, or too old) and the
// client must reload. An inactive user gets an error.
func (h *Hub) Subscribe(u *desk.User, f Filter, lastID string) (s *Sub, backlog []Delivery, reset bool, err error) {
	if u == nil || !u.Active {
		return nil, nil, false, errors.New("realtime: inactive user")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, ErrClosed
	}
	s = &Sub{hub: h, user: u, filter: f, agent: u.IsAdmin(), ch: make(chan Delivery, h.cfg.Buffer), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	if s.agent {
		if h.agents[u.ID]++; h.agents[u.ID] == 1 {
			h.signalChange()
		}
	}
	if lastID == "" {
		return s, nil, false, nil
	}
	epoch, n, _ := strings.Cut(lastID, "-")
	last, perr := strconv.ParseUint(n, 10, 64)
	oldest := h.seq - uint64(len(h.ring)) // events after this one are kept
	if perr != nil || epoch != h.epoch || last > h.seq || last < oldest {
		return s, nil, true, nil
	}
	for seq := last + 1; seq <= h.seq; seq++ {
		st := h.ring[int((seq-1)%uint64(cap(h.ring)))]
		if f.match(st.e) && desk.CanReceive(u, st.e) {
			backlog = append(backlog, Delivery{ID: h.id(seq), Event: st.e})
		}
	}
	return s, backlog, false, nil
}

// AgentsOnline returns the ids of the admins connected to any instance.
func (h *Hub) AgentsOnline() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agentsLocked(time.Now())
}

func (h *Hub) agentsLocked(now time.Time) []int64 {
	var ids []int64
	for id := range h.agents {
		ids = append(ids, id)
	}
	for origin, r := range h.remote {
		if now.After(r.expires) {
			delete(h.remote, origin)
			continue
		}
		ids = append(ids, r.ids...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// presenceChanged tells local subscribers the new agent count if it moved.
func (h *Hub) presenceChanged() {
	h.mu.Lock()
	n := len(h.agentsLocked(time.Now()))
	moved := n != h.online
	h.online = n
	h.mu.Unlock()
	if moved {
		h.deliver(&desk.Event{Kind: desk.EventPresence, Audience: desk.AudienceEveryone, AgentsOnline: n, At: time.Now().UTC()})
	}
}

// announceLocked queues this instance's agent list for the peers.
func (h *Hub) announceLocked() {
	if h.cfg.Peers == nil {
		return
	}
	ids := make([]int64, 0, len(h.agents))
	for id := range h.agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b, _ := json.Marshal(wire{Origin: h.origin, Presence: true, Agents: ids})
	h.enqueue(b)
}

// Run sends queued messages to the peers, announces presence and expires
// silent peers until ctx ends; then it closes the hub.
func (h *Hub) Run(ctx context.Context) {
	tick := time.NewTicker(h.cfg.PresenceEvery)
	defer tick.Stop()
	go h.sendLoop(ctx)
	for {
		select {
		case <-ctx.Done():
			h.mu.Lock()
			h.agents = map[int64]int{}
			h.announceLocked() // tell peers we are gone, best effort
			h.mu.Unlock()
			h.Close()
			return
		case <-h.changed:
			h.mu.Lock()
			h.announceLocked()
			h.mu.Unlock()
		case <-tick.C:
			h.mu.Lock()
			h.announceLocked()
			h.mu.Unlock()
		}
		h.presenceChanged()
	}
}

func (h *Hub) sendLoop(ctx context.Context) {
	if h.cfg.Peers == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			// Drain what is queued (e.g. the final announcement) briefly.
			for {
				select {
				case b := <-h.outbox:
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
					_ = h.cfg.Peers.Send(sctx, b)
					cancel()
				default:
					return
				}
			}
		case b := <-h.outbox:
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := h.cfg.Peers.Send(sctx, b); err != nil && ctx.Err() == nil {
				h.log.Warn("realtime: could not share an event with other instances", "err", err)
			}
			cancel()
		}
	}
}

// Close ends every subscription with ErrClosed; later subscriptions fail.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.dropLocked(s, ErrClosed)
	}
}

// Subscribers returns how many subscriptions are open on this instance.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
