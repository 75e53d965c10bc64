package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

func TestTicketCreateAndGet(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "jane", desk.RoleUser)
		tk := &desk.Ticket{Title: "VPN down", Description: "Cannot connect", Category: desk.CategoryTechnical,
			Status: desk.StatusNew, Priority: desk.PriorityHigh, CreatedBy: u.Ref(), CreatedAt: t0, UpdatedAt: t0,
			Attachments: []desk.Attachment{
				{Key: "k1", Filename: "a.png", ContentType: "image/png", Size: 10, SHA256: "aa", UploadedBy: u.ID, CreatedAt: t0},
				{Key: "k2", Filename: "b.pdf", ContentType: "application/pdf", Size: 20, SHA256: "bb", UploadedBy: u.ID, CreatedAt: t0},
			}}
		for _, k := range []string{"k1", "k2", "k3"} {
			if err := db.ReserveBlob(ctx, k, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
		got, err := db.TicketByID(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "VPN down" || got.Description != "Cannot connect" || got.Category != desk.CategoryTechnical ||
			got.Status != desk.StatusNew || got.Priority != desk.PriorityHigh || got.CreatedBy != u.Ref() ||
			got.Assignee != nil || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) {
			t.Fatalf("TicketByID = %+v", got)
		}
		if len(got.Attachments) != 2 || got.Attachments[0].Key != "k1" || got.Attachments[1].Filename != "b.pdf" ||
			got.Attachments[1].Size != 20 || got.Attachments[0].TicketID != tk.ID || got.Attachments[0].ID == 0 {
			t.Fatalf("attachments = %+v", got.Attachments)
		}
		// Every field, read with the ticket and with a list page.
		page, err := db.Tickets(ctx, store.TicketFilter{})
		if err != nil || len(page.Tickets) != 1 {
			t.Fatalf("list: %+v, %v", page, err)
		}
		for _, read := range [][]desk.Attachment{got.Attachments, page.Tickets[0].Attachments} {
			if len(read) != len(tk.Attachments) {
				t.Fatalf("%d attachments read, %d filed", len(read), len(tk.Attachments))
			}
			for i, a := range read {
				w := tk.Attachments[i]
				w.TicketID = tk.ID
				if !a.CreatedAt.Equal(w.CreatedAt) {
					t.Fatalf("attachment %d created %v, want %v", i, a.CreatedAt, w.CreatedAt)
				}
				a.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
				if a != w {
					t.Fatalf("attachment %d read %+v, want %+v", i, a, w)
				}
			}
		}
		a, err := db.AttachmentByID(ctx, got.Attachments[1].ID)
		if err != nil || a.ContentType != "application/pdf" || a.SHA256 != "bb" {
			t.Fatalf("AttachmentByID = %+v, %v", a, err)
		}
		if _, err := db.AttachmentByID(ctx, 99999); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown attachment: %v", err)
		}
		// Committed attachments released their intents; k3 is still pending.
		stale, err := db.StaleBlobIntents(ctx, t0.Add(time.Second), 10)
		if err != nil || !slices.Equal(stale, []string{"k3"}) {
			t.Fatalf("stale intents = %v, %v", stale, err)
		}
		if err := db.ReleaseBlob(ctx, "k3"); err != nil {
			t.Fatal(err)
		}
		if stale, _ := db.StaleBlobIntents(ctx, t0.Add(time.Second), 10); len(stale) != 0 {
			t.Fatalf("released intent remains: %v", stale)
		}
		var keys []string
		db.AttachmentKeys(ctx, func(k string) error { keys = append(keys, k); return nil })
		if !slices.Equal(keys, []string{"k1", "k2"}) {
			t.Fatalf("AttachmentKeys = %v", keys)
		}
		// A duplicate blob key aborts the whole ticket.
		dup := &desk.Ticket{Title: "x", Description: "y", Category: desk.CategoryProduct, Status: desk.StatusNew,
			Priority: desk.PriorityLow, CreatedBy: u.Ref(), CreatedAt: t0, UpdatedAt: t0,
			Attachments: []desk.Attachment{{Key: "k1", Filename: "c", ContentType: "text/plain", SHA256: "c", UploadedBy: u.ID, CreatedAt: t0}}}
		if err := db.CreateTicket(ctx, dup); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("duplicate key: %v", err)
		}
		page, err = db.Tickets(ctx, store.TicketFilter{})
		if err != nil || page.Total != 1 || len(page.Tickets) != 1 {
			t.Fatalf("failed create left a ticket: %+v, %v", page, err)
		}
		if _, err := db.TicketByID(ctx, 99999); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown ticket: %v", err)
		}
	})
}

func TestStatusChanges(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "jane", desk.RoleUser)
		admin := mkUser(t, db, "root", desk.RoleAdmin)
		tk := mkTicket(t, db, u, "t", "d", desk.CategoryProduct, t0)
		c := &desk.StatusChange{TicketID: tk.ID, From: desk.StatusNew, To: desk.StatusUnderReview, By: admin.Ref(), Note: "looking", At: t0.Add(time.Minute)}
		if err := db.UpdateTicketStatus(ctx, c); err != nil || c.ID == 0 {
			t.Fatalf("update: %v (id %d)", err, c.ID)
		}
		got, _ := db.TicketByID(ctx, tk.ID)
		if got.Status != desk.StatusUnderReview || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after update: %+v", got)
		}
		// A stale "from" loses.
		stale := &desk.StatusChange{TicketID: tk.ID, From: desk.StatusNew, To: desk.StatusResolved, By: admin.Ref(), At: t0}
		if err := db.UpdateTicketStatus(ctx, stale); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("stale update: %v", err)
		}
		missing := &desk.StatusChange{TicketID: 99999, From: desk.StatusNew, To: desk.StatusResolved, By: admin.Ref(), At: t0}
		if err := db.UpdateTicketStatus(ctx, missing); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("missing ticket: %v", err)
		}
		// Concurrent identical changes: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch := &desk.StatusChange{TicketID: tk.ID, From: desk.StatusUnderReview, To: desk.StatusResolved, By: admin.Ref(), At: t0.Add(time.Hour)}
				if db.UpdateTicketStatus(ctx, ch) == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent updates won", wins)
		}
		h, err := db.StatusHistory(ctx, tk.ID)
		if err != nil || len(h) != 3 {
			t.Fatalf("history = %+v, %v", h, err)
		}
		if h[0].From != "" || h[0].To != desk.StatusNew || h[0].By.ID != u.ID {
			t.Errorf("creation entry = %+v", h[0])
		}
		if h[1].From != desk.StatusNew || h[1].To != desk.StatusUnderReview || h[1].By.Username != "root" || h[1].Note != "looking" {
			t.Errorf("first change = %+v", h[1])
		}
		if h[2].To != desk.StatusResolved {
			t.Errorf("second change = %+v", h[2])
		}
		// Counts follow status changes.
		p, _ := db.Tickets(ctx, store.TicketFilter{Status: desk.StatusResolved})
		p2, _ := db.Tickets(ctx, store.TicketFilter{Status: desk.StatusNew})
		if p.Total != 1 || p2.Total != 0 {
			t.Errorf("counts after changes: resolved %d, new %d", p.Total, p2.Total)
		}
	})
}

func titles(p *store.TicketPage) []string {
	var out []string
	for _, t := range p.Tickets {
		out = append(out, t.Title)
	}
	return out
}

func TestTicketListing(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		bob := mkUser(t, db, "bob", desk.RoleUser)
		cats := []desk.Category{desk.CategoryTechnical, desk.CategoryFinancial, desk.CategoryProduct}
		// 30 tickets, created a minute apart; jane owns the even ones.
		for i := range 30 {
			owner := bob
			if i%2 == 0 {
				owner = jane
			}
			tk := &desk.Ticket{Title: fmt.Sprintf("t%02d", i), Description: "d", Category: cats[i%3], Status: desk.StatusNew,
				Priority: desk.Priorities[i%4], CreatedBy: owner.Ref(), CreatedAt: t0.Add(time.Duration(i) * time.Minute),
				UpdatedAt: t0.Add(time.Duration(30-i) * time.Minute)}
			if err := db.CreateTicket(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		p, err := db.Tickets(ctx, store.TicketFilter{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 30 || !p.TotalExact || p.Order != store.OrderNewest || !p.HasMore ||
			!slices.Equal(titles(p), []string{"t29", "t28", "t27", "t26", "t25"}) {
			t.Fatalf("first page: %+v %v", p, titles(p))
		}
		// Keyset continuation equals offset paging.
		next, _ := db.Tickets(ctx, store.TicketFilter{Limit: 5, After: p.Next})
		off, _ := db.Tickets(ctx, store.TicketFilter{Limit: 5, Offset: 5})
		if !slices.Equal(titles(next), []string{"t24", "t23", "t22", "t21", "t20"}) || !slices.Equal(titles(next), titles(off)) {
			t.Fatalf("page 2: keyset %v, offset %v", titles(next), titles(off))
		}
		// Every page carries the total, also an empty one past the end
		// (whose count is not in any row).
		for _, tt := range []struct {
			f    store.TicketFilter
			want int
		}{
			{store.TicketFilter{Limit: 5, Offset: 25}, 30},
			{store.TicketFilter{Limit: 5, Offset: 40}, 30},
			{store.TicketFilter{Limit: 5, Category: desk.CategoryFinancial, Offset: 1000}, 10},
			{store.TicketFilter{Limit: 5, OwnerID: jane.ID, Offset: 15}, 15},
			{store.TicketFilter{Limit: 5, OwnerID: jane.ID, Category: desk.CategoryProduct}, 5},
		} {
			pg, err := db.Tickets(ctx, tt.f)
			if err != nil || pg.Total != tt.want {
				t.Fatalf("%+v: total %d (want %d), %v", tt.f, pg.Total, tt.want, err)
			}
		}
		// Walk every page by cursor in every order and check nothing is lost or repeated.
		for _, o := range []store.Order{store.OrderNewest, store.OrderOldest, store.OrderUpdated, store.OrderUpdatedFirst, store.OrderPriority, store.OrderPriorityLow} {
			seen := map[string]bool{}
			var cur *store.Cursor
			var prev *desk.Ticket
			for {
				pg, err := db.Tickets(ctx, store.TicketFilter{Limit: 7, Order: o, After: cur})
				if err != nil {
					t.Fatalf("%s: %v", o, err)
				}
				for i := range pg.Tickets {
					tk := &pg.Tickets[i]
					if seen[tk.Title] {
						t.Fatalf("%s: %s repeated", o, tk.Title)
					}
					seen[tk.Title] = true
					if prev != nil && !ordered(o, prev, tk) {
						t.Fatalf("%s: %s before %s", o, prev.Title, tk.Title)
					}
					prev = tk
				}
				if !pg.HasMore {
					break
				}
				cur = pg.Next
				if tok, ok := store.DecodeCursor(cur.Encode()); !ok || tok != *cur {
					t.Fatalf("cursor round trip: %+v", cur)
				}
			}
			if len(seen) != 30 {
				t.Fatalf("%s: walked %d tickets", o, len(seen))
			}
		}
		// Filters and role scoping, with maintained counts.
		tests := []struct {
			f     store.TicketFilter
			total int
		}{
			{store.TicketFilter{OwnerID: jane.ID}, 15},
			{store.TicketFilter{OwnerID: bob.ID}, 15},
			{store.TicketFilter{Category: desk.CategoryTechnical}, 10},
			{store.TicketFilter{Category: desk.CategoryTechnical, OwnerID: jane.ID}, 5},
			{store.TicketFilter{Status: desk.StatusNew}, 30},
			{store.TicketFilter{Status: desk.StatusResolved}, 0},
			{store.TicketFilter{Status: desk.StatusNew, Category: desk.CategoryProduct, OwnerID: bob.ID}, 5},
			{store.TicketFilter{OwnerID: 424242}, 0},
		}
		for _, tt := range tests {
			pg, err := db.Tickets(ctx, store.TicketFilter{OwnerID: tt.f.OwnerID, Category: tt.f.Category, Status: tt.f.Status, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if pg.Total != tt.total || len(pg.Tickets) != tt.total {
				t.Errorf("%+v: total %d, rows %d, want %d", tt.f, pg.Total, len(pg.Tickets), tt.total)
			}
			for _, tk := range pg.Tickets {
				if (tt.f.OwnerID != 0 && tk.CreatedBy.ID != tt.f.OwnerID) || (tt.f.Category != "" && tk.Category != tt.f.Category) {
					t.Errorf("%+v returned %+v", tt.f, tk)
				}
			}
		}
		if bad, ok := store.DecodeCursor("relevance~1~1"); ok {
			t.Errorf("relevance cursor accepted: %+v", bad)
		}
		for _, s := range []string{"", "x", "-created_at~z!~1", "-created_at~1~0", "-created_at~1~1~1", "; DROP TABLE tickets"} {
			if _, ok := store.DecodeCursor(s); ok {
				t.Errorf("DecodeCursor(%q) accepted", s)
			}
		}
	})
}

func ordered(o store.Order, a, b *desk.Ticket) bool {
	cmp := func(x, y int64) bool { // a before b?
		if x != y {
			return x < y
		}
		return a.ID < b.ID
	}
	switch o {
	case store.OrderOldest:
		return cmp(a.CreatedAt.UnixMicro(), b.CreatedAt.UnixMicro())
	case store.OrderUpdated:
		return !cmp(a.UpdatedAt.UnixMicro(), b.UpdatedAt.UnixMicro())
	case store.OrderUpdatedFirst:
		return cmp(a.UpdatedAt.UnixMicro(), b.UpdatedAt.UnixMicro())
	case store.OrderPriority:
		return !cmp(int64(a.Priority.Rank()), int64(b.Priority.Rank()))
	case store.OrderPriorityLow:
		return cmp(int64(a.Priority.Rank()), int64(b.Priority.Rank()))
	}
	return !cmp(a.CreatedAt.UnixMicro(), b.CreatedAt.UnixMicro())
}

func TestSearch(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane.doe", desk.RoleUser)
		bob := mkUser(t, db, "bobsmith", desk.RoleUser)
		mkTicket(t, db, jane, "Printer jammed on floor 3", "The office printer shows error E42", desk.CategoryTechnical, t0)
		mkTicket(t, db, bob, "Refund for invoice", "Please refund the duplicate printer charge", desk.CategoryFinancial, t0.Add(time.Minute))
		mkTicket(t, db, bob, "Dark mode", "Product request: dark theme", desk.CategoryProduct, t0.Add(2*time.Minute))
		mkTicket(t, db, jane, "Café Wi-Fi", "Le réseau du café est lent", desk.CategoryTechnical, t0.Add(3*time.Minute))

		search := func(f store.TicketFilter) []string {
			t.Helper()
			p, err := db.Tickets(ctx, f)
			if err != nil {
				t.Fatalf("search %+v: %v", f, err)
			}
			if p.Total != len(p.Tickets) || !p.TotalExact {
				t.Fatalf("search %q: total %d for %d rows", f.Search, p.Total, len(p.Tickets))
			}
			return titles(p)
		}
		// Title matches outrank description matches; stemming finds "printers".
		if got := search(store.TicketFilter{Search: "printers"}); !slices.Equal(got, []string{"Printer jammed on floor 3", "Refund for invoice"}) {
			t.Errorf("printers: %v", got)
		}
		// Username search (the seeds' "search by username").
		if got := search(store.TicketFilter{Search: "bobsmith"}); len(got) != 2 {
			t.Errorf("bobsmith: %v", got)
		}
		if got := search(store.TicketFilter{Search: "jane.doe"}); len(got) != 2 {
			t.Errorf("jane.doe: %v", got)
		}
		// All words must match.
		if got := search(store.TicketFilter{Search: "printer refund"}); !slices.Equal(got, []string{"Refund for invoice"}) {
			t.Errorf("printer refund: %v", got)
		}
		// Scoping and filters apply to searches.
		if got := search(store.TicketFilter{Search: "printer", OwnerID: bob.ID}); !slices.Equal(got, []string{"Refund for invoice"}) {
			t.Errorf("printer as bob: %v", got)
		}
		if got := search(store.TicketFilter{Search: "printer", Category: desk.CategoryTechnical}); !slices.Equal(got, []string{"Printer jammed on floor 3"}) {
			t.Errorf("printer technical: %v", got)
		}
		// Diacritics fold.
		if got := search(store.TicketFilter{Search: "cafe"}); !slices.Equal(got, []string{"Café Wi-Fi"}) {
			t.Errorf("cafe: %v", got)
		}
		// Explicit ordering of a search.
		if got := search(store.TicketFilter{Search: "printer", Order: store.OrderOldest}); !slices.Equal(got, []string{"Printer jammed on floor 3", "Refund for invoice"}) {
			t.Errorf("printer oldest: %v", got)
		}
		if got := search(store.TicketFilter{Search: "printer", Order: store.OrderNewest}); !slices.Equal(got, []string{"Refund for invoice", "Printer jammed on floor 3"}) {
			t.Errorf("printer newest: %v", got)
		}
		// Query syntax and injection strings are only words.
		for _, q := range []string{`"`, `printer"`, `NEAR(printer refund)`, `printer OR dark`, `title:printer`, `*`, `^printer`,
			`'; DROP TABLE tickets; --`, `printer) OR 1=1 --`, `!!!`, `&|!<->`, "\x00", `%`, `_`, `\`} {
			if _, err := db.Tickets(ctx, store.TicketFilter{Search: q}); err != nil {
				t.Errorf("search %q: %v", q, err)
			}
		}
		if got := search(store.TicketFilter{Search: "printer OR dark"}); len(got) != 0 {
			t.Errorf("OR was interpreted: %v", got)
		}
		if got := search(store.TicketFilter{Search: "nothingmatchesthis"}); len(got) != 0 {
			t.Errorf("no match: %v", got)
		}
		if p, _ := db.Tickets(ctx, store.TicketFilter{}); p.Total != 4 {
			t.Errorf("tickets table damaged: %d", p.Total)
		}
	})
}

func TestSearchTerms(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"":                    nil,
		"  Printer  JAMMED ":  {"printer", "jammed"},
		`"quoted" (x) AND y*`: {"quoted", "x", "and", "y"},
		"jane.doe@x.com":      {"jane", "doe", "x", "com"},
		"a a A":               {"a"},
		"café-crème":          {"cafe", "creme"},
		"Łódź ÆØ":             {"lodz", "æo"},
		"'; DROP TABLE t;--":  {"drop", "table", "t"},
	}
	for in, want := range tests {
		if got := store.SearchTerms(in); !slices.Equal(got, want) {
			t.Errorf("SearchTerms(%q) = %q, want %q", in, got, want)
		}
	}
	many := ""
	for i := range 50 {
		many += fmt.Sprintf("w%d ", i)
	}
	if n := len(store.SearchTerms(many)); n != 12 {
		t.Errorf("term cap: %d", n)
	}
}

func TestSearchBounds(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "jane", desk.RoleUser)
		other := mkUser(t, db, "bob", desk.RoleUser)
		// More matches than the rank limit: newest filed first, exact count.
		n := store.SearchRankLimit + 5
		for i := range n {
			owner := u
			if i == 7 {
				owner = other
			}
			tk := &desk.Ticket{Title: fmt.Sprintf("common %d", i), Description: "word", Category: desk.CategoryProduct,
				Status: desk.StatusNew, Priority: desk.PriorityLow, CreatedBy: owner.Ref(), CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0}
			if err := db.CreateTicket(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		p, err := db.Tickets(ctx, store.TicketFilter{Search: "common", Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("common %d", n-1), fmt.Sprintf("common %d", n-2), fmt.Sprintf("common %d", n-3)}
		if p.Order != store.OrderFiled || p.Total != n || !p.TotalExact || !slices.Equal(titles(p), want) || p.Next == nil {
			t.Fatalf("common term: order %s total %d exact %v %v", p.Order, p.Total, p.TotalExact, titles(p))
		}
		p2, _ := db.Tickets(ctx, store.TicketFilter{Search: "common", Limit: 3, After: p.Next})
		if len(p2.Tickets) != 3 || p2.Tickets[0].Title != fmt.Sprintf("common %d", n-4) {
			t.Fatalf("common term page 2: %v", titles(p2))
		}
		// A filter and an offset on the same walk; an explicit order is kept.
		p3, err := db.Tickets(ctx, store.TicketFilter{Search: "common", Category: desk.CategoryProduct, Limit: 2, Offset: 1})
		if err != nil || p3.Order != store.OrderFiled || !slices.Equal(titles(p3), want[1:]) {
			t.Fatalf("filtered walk: %v %v", err, titles(p3))
		}
		if p3, _ = db.Tickets(ctx, store.TicketFilter{Search: "common", Category: desk.CategoryTechnical}); p3.Total != 0 || len(p3.Tickets) != 0 {
			t.Fatalf("no ticket of that category: %d %v", p3.Total, titles(p3))
		}
		p3, _ = db.Tickets(ctx, store.TicketFilter{Search: "common", Order: store.OrderNewest, Limit: 3})
		if p3.Order != store.OrderNewest || !slices.Equal(titles(p3), want) {
			t.Fatalf("explicit order: %s %v", p3.Order, titles(p3))
		}
		// Scoped to bob, the same term is rare and ranked.
		p, _ = db.Tickets(ctx, store.TicketFilter{Search: "common", OwnerID: other.ID})
		if p.Order != store.OrderRelevance || p.Total != 1 || !slices.Equal(titles(p), []string{"common 7"}) {
			t.Fatalf("scoped: %s %d %v", p.Order, p.Total, titles(p))
		}
	})
}

// TestSearchPagesPastTheCount pages through a search matching more tickets
// than SearchCountCap, in filing order, by cursor and by offset, with and
// without a filter: the count stops at the cap, the pages must not, and
// every match must come once.
func TestSearchPagesPastTheCount(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		admin := mkUser(t, db, "walker", desk.RoleAdmin)
		n := store.SearchCountCap + 30
		batch := make([]desk.Ticket, n)
		want := make([]string, n) // newest filed first
		for i := range batch {
			cat := desk.CategoryProduct
			if i%3 == 0 {
				cat = desk.CategoryTechnical
			}
			batch[i] = desk.Ticket{Title: fmt.Sprintf("crowded %d", i), Description: "shared words", Category: cat,
				Status: desk.StatusNew, Priority: desk.PriorityLow, CreatedBy: admin.Ref(), CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0}
			want[n-1-i] = batch[i].Title
		}
		if err := db.ImportTickets(ctx, batch, admin.ID); err != nil {
			t.Fatal(err)
		}
		var technical []string
		for _, w := range want {
			var i int
			fmt.Sscanf(w, "crowded %d", &i)
			if i%3 == 0 {
				technical = append(technical, w)
			}
		}
		for _, c := range []struct {
			name string
			f    store.TicketFilter
			want []string
		}{
			{"all", store.TicketFilter{Search: "crowded"}, want},
			{"filtered", store.TicketFilter{Search: "crowded", Category: desk.CategoryTechnical, Order: store.OrderFiled}, technical},
		} {
			// By cursor, 97 at a time: pages within the count, one
			// across its end, and pages past it.
			var got []string
			f := c.f
			f.Limit = 97
			for pages := 0; ; pages++ {
				p, err := db.Tickets(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if p.Order != store.OrderFiled || p.Total != min(len(c.want), store.SearchCountCap) || p.TotalExact != (len(c.want) <= store.SearchCountCap) {
					t.Fatalf("%s page %d: order %s total %d exact %v", c.name, pages, p.Order, p.Total, p.TotalExact)
				}
				got = append(got, titles(p)...)
				if p.HasMore != (p.Next != nil) || pages > n {
					t.Fatalf("%s page %d: has more %v, next %v", c.name, pages, p.HasMore, p.Next)
				}
				if p.Next == nil {
					break
				}
				f.After = p.Next
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("%s by cursor: %d tickets, want %d; first %v", c.name, len(got), len(c.want), got[:min(3, len(got))])
			}
			// By offset: within the count, across its end, past it, and
			// past the last match.
			for _, off := range []int{0, 500, store.SearchCountCap - 10, store.SearchCountCap + 3, len(c.want) - 2, len(c.want) + 5} {
				f := c.f
				f.Limit, f.Offset = 20, off
				p, err := db.Tickets(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				w := c.want[min(off, len(c.want)):min(off+20, len(c.want))]
				if !slices.Equal(titles(p), w) || p.HasMore != (off+20 < len(c.want)) || p.Tickets == nil {
					t.Fatalf("%s offset %d: %v (more %v), want %v", c.name, off, titles(p), p.HasMore, w)
				}
			}
		}
		// A small match set asked for in filing order, past its end.
		mkTicket(t, db, admin, "lonely printer", "d", desk.CategoryProduct, t0)
		p, err := db.Tickets(ctx, store.TicketFilter{Search: "lonely", Order: store.OrderFiled, Offset: 4})
		if err != nil || p.Total != 1 || p.Tickets == nil || len(p.Tickets) != 0 || p.HasMore {
			t.Fatalf("past a small set's end: %v %+v", err, p)
		}
		p, err = db.Tickets(ctx, store.TicketFilter{Search: "lonely", Order: store.OrderFiled})
		if err != nil || !slices.Equal(titles(p), []string{"lonely printer"}) || p.HasMore {
			t.Fatalf("a small set in filing order: %v %v", err, titles(p))
		}
	})
}

// TestTicketReadsCanceled checks that list and detail reads with a canceled
// context fail with the context's error, not as a missing ticket or an
// unavailable database (a read interrupted between rows is
// TestRawQueryInterrupted).
func TestTicketReadsCanceled(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		u := mkUser(t, db, "erin", desk.RoleUser)
		tk := mkTicket(t, db, u, "printer", "jams", desk.CategoryTechnical, t0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := db.Tickets(ctx, store.TicketFilter{}); !errors.Is(err, context.Canceled) {
			t.Errorf("list: %v", err)
		}
		if _, err := db.TicketByID(ctx, tk.ID); !errors.Is(err, context.Canceled) {
			t.Errorf("detail: %v", err)
		}
		for range 8 {
			if got, err := db.TicketByID(context.Background(), tk.ID); err != nil || got.Title != "printer" {
				t.Fatalf("after a canceled read: %+v, %v", got, err)
			}
		}
		if _, err := db.TicketByID(context.Background(), tk.ID+1); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("missing ticket: %v", err)
		}
	})
}

// TestTicketUserRefs checks the creator and assignee references of listed
// and fetched tickets, read from the database and then from the cache of
// user references.
func TestTicketUserRefs(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		agent := mkUser(t, db, "agent", desk.RoleAdmin)
		users := []*desk.User{mkUser(t, db, "fran", desk.RoleUser), mkUser(t, db, "gus", desk.RoleUser), mkUser(t, db, "hal", desk.RoleUser)}
		want := map[int64][2]string{} // ticket → creator, assignee ("" when none)
		for i := range 9 {
			owner := users[i%3]
			tk := &desk.Ticket{Title: fmt.Sprint("t", i), Description: "d", Category: desk.CategoryProduct, Status: desk.StatusNew,
				Priority: desk.PriorityLow, CreatedBy: owner.Ref(), CreatedAt: t0, UpdatedAt: t0}
			assignee := ""
			if i%2 == 0 {
				r := agent.Ref()
				tk.Assignee, assignee = &r, "agent"
			}
			if err := db.CreateTicket(ctx, tk); err != nil {
				t.Fatal(err)
			}
			want[tk.ID] = [2]string{owner.Username, assignee}
		}
		check := func(tk *desk.Ticket) {
			t.Helper()
			w := want[tk.ID]
			if tk.CreatedBy.Username != w[0] || tk.CreatedBy.Email != w[0]+"@example.com" {
				t.Errorf("ticket %d: creator %+v, want %s", tk.ID, tk.CreatedBy, w[0])
			}
			switch {
			case w[1] == "" && tk.Assignee != nil:
				t.Errorf("ticket %d: assignee %+v, want none", tk.ID, tk.Assignee)
			case w[1] != "" && (tk.Assignee == nil || tk.Assignee.Username != w[1] || tk.Assignee.ID != agent.ID || tk.Assignee.Email != "agent@example.com"):
				t.Errorf("ticket %d: assignee %+v, want %s", tk.ID, tk.Assignee, w[1])
			}
		}
		for range 2 { // the second round reads the references from the cache
			page, err := db.Tickets(ctx, store.TicketFilter{})
			if err != nil || len(page.Tickets) != 9 {
				t.Fatalf("list: %d tickets, %v", len(page.Tickets), err)
			}
			for i := range page.Tickets {
				check(&page.Tickets[i])
			}
			for id := range want {
				tk, err := db.TicketByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				check(tk)
			}
		}
	})
}
