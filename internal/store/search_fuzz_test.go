package store_test

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// FuzzSearch runs any text as a search on a real SQLite FTS5 index.
// Properties: SearchTerms yields at most 12 terms of at most 64 letters,
// digits and combining marks (nothing FTS5 or tsquery could read as
// syntax); the search never fails, whatever the ordering; and a search
// scoped to one owner returns only that owner's tickets.
func FuzzSearch(f *testing.F) {
	ctx := context.Background()
	db := storetest.SQLite(f)
	alice := mkUser(f, db, "alice", desk.RoleUser)
	bob := mkUser(f, db, "bob", desk.RoleUser)
	for i, title := range []string{"printer jam NEAR the door", `quote " and star *`, "café crème", "title: colon", "OR AND NOT"} {
		owner := alice
		if i%2 == 1 {
			owner = bob
		}
		mkTicket(f, db, owner, title, "secret words of "+owner.Username, desk.CategoryTechnical, t0)
	}
	for _, s := range []string{"printer", `"unbalanced`, "NEAR(a b)", "title:x", "-x", "a OR b", "*", "' OR 1=1--", "\x00",
		"İstanbul", "a\u0301", "\u202eevil", "x\u200by", strings.Repeat("long ", 200), "^a", "a:b:c", "{a b}", "col:(x)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms := store.SearchTerms(q)
		if len(terms) > 12 {
			t.Fatalf("%d terms", len(terms))
		}
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) || utf8.RuneCountInString(term) > 64 {
				t.Fatalf("term %q", term)
			}
			for _, r := range term {
				if !unicode.In(r, unicode.L, unicode.N, unicode.M) {
					t.Fatalf("term %q holds %U", term, r)
				}
			}
		}
		for _, o := range []store.Order{"", store.OrderRelevance, store.OrderNewest} {
			p, err := db.Tickets(ctx, store.TicketFilter{Search: q, OwnerID: bob.ID, Order: o, Limit: 5})
			if err != nil {
				t.Fatalf("search %q (%s): %v", q, o, err)
			}
			for _, tk := range p.Tickets {
				if tk.CreatedBy.ID != bob.ID {
					t.Fatalf("search %q as bob found %q of %s", q, tk.Title, tk.CreatedBy.Username)
				}
			}
		}
		if _, err := db.Tickets(ctx, store.TicketFilter{Search: q}); err != nil {
			t.Fatalf("unscoped search %q: %v", q, err)
		}
	})
}
