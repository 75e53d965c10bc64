package realtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
)

func TestSplitKeepsRunes(t *testing.T) {
	t.Parallel()
	msg := []byte(strings.Repeat("é€😀a", 5000))
	parts := split(msg, maxChunk)
	var joined []byte
	for _, p := range parts {
		if len(p) > maxChunk || !json.Valid([]byte(`"`+string(p)+`"`)) {
			t.Fatalf("bad part of %d bytes", len(p))
		}
		joined = append(joined, p...)
	}
	if string(joined) != string(msg) || len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	partials, order := map[string]*partial{}, []string{}
	for i := len(parts) - 1; i >= 0; i-- { // out of order
		got := reassemble("m1 "+itoa(i)+" "+itoa(len(parts))+"\n"+string(parts[i]), partials, &order)
		if (i == 0) != (got != nil) {
			t.Fatalf("part %d: complete=%v", i, got != nil)
		}
		if got != nil && string(got) != string(msg) {
			t.Fatal("reassembled message differs")
		}
	}
	for _, bad := range []string{"", "no header", "m 0\nx", "m 5 2\nx", "m -1 2\nx", "m 0 99999\nx"} {
		if reassemble(bad, partials, &order) != nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for i := 0; i < maxPartials+10; i++ {
		reassemble("p"+itoa(i)+" 0 2\nx", partials, &order)
	}
	if len(partials) > maxPartials || len(order) != len(partials) {
		t.Fatalf("%d partials pending", len(partials))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

type instance struct {
	hub *Hub
	pg  *PG
}

func startInstance(t *testing.T, url, channel string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pg, err := NewPG(ctx, url, channel, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(Config{Peers: pg, PresenceEvery: time.Hour})
	done := make(chan struct{}, 2)
	go func() { pg.Run(ctx, h.Receive, h.Gap); done <- struct{}{} }()
	go func() { h.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		pg.Close()
	})
	return &instance{hub: h, pg: pg}
}

// TestPGBridge runs two hubs on one database: events (small and over the
// NOTIFY size limit), access changes and presence cross between them, and
// the listener comes back after its connection is killed.
func TestPGBridge(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchemaURL(t)
	channel := ChannelFor("test_" + randomID())
	a, b := startInstance(t, url, channel), startInstance(t, url, channel)

	user := sub(t, b.hub, owner, Filter{})
	intruder := sub(t, b.hub, other, Filter{})
	ctx := context.Background()
	a.hub.Publish(ctx, desk.Event{Kind: desk.EventCommentAdded, Audience: desk.AudienceOwner, OwnerID: 1, TicketID: 10, Comment: &desk.Comment{Body: "small"}})
	big := strings.Repeat("ünïcødé ", 3000) // ~33 kB: five NOTIFY parts
	a.hub.Publish(ctx, desk.Event{Kind: desk.EventCommentAdded, Audience: desk.AudienceOwner, OwnerID: 1, TicketID: 10, Comment: &desk.Comment{Body: big}})
	if d := next(t, user); d.Event.Comment.Body != "small" {
		t.Fatalf("first: %+v", d.Event)
	}
	if d := next(t, user); d.Event.Comment.Body != big {
		t.Fatalf("big event differs (%d bytes)", len(d.Event.Comment.Body))
	}
	none(t, intruder, "another user on the other instance")

	// Presence: an admin on b is an agent for a.
	agent := sub(t, b.hub, admin, Filter{})
	waitFor(t, "agent visible on a", func() bool { return len(a.hub.AgentsOnline()) == 1 })
	agent.Close()
	waitFor(t, "agent gone on a", func() bool { return len(a.hub.AgentsOnline()) == 0 })

	// Deactivation on a closes the user's stream on b.
	a.hub.Publish(ctx, desk.Event{Kind: desk.EventUserAccess, Audience: desk.AudienceNobody, OwnerID: owner.ID})
	select {
	case <-user.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stream on b not closed")
	}

	// Kill b's listening connection: b reconnects, tells its subscribers to
	// reload, and receives again.
	watcher := sub(t, b.hub, admin, Filter{})
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var killed bool
	if err := db.QueryRow(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, b.pg.appName).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener: %v %v", killed, err)
	}
	for d := next(t, watcher); !d.Reset; d = next(t, watcher) {
	}
	a.hub.Publish(ctx, desk.Event{Kind: desk.EventTicketCreated, Audience: desk.AudienceOwner, OwnerID: 1, TicketID: 99})
	for d := next(t, watcher); d.Event == nil || d.Event.TicketID != 99; d = next(t, watcher) {
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
