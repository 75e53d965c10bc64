package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

var searchWords = []string{"printer", "jams", "laptop", "invoice", "vpn", "badge", "monitor"}

// fileSearchable files n tickets one write transaction each (so each adds
// a segment to SQLite's index), with words from searchWords.
func fileSearchable(t *testing.T, db *store.DB, owner *desk.User, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		w1, w2 := searchWords[i%len(searchWords)], searchWords[(i/len(searchWords))%len(searchWords)]
		mkTicket(t, db, owner, fmt.Sprintf("%s %s number%d", w1, w2, i),
			fmt.Sprintf("the %s keeps failing, ticket%d", w2, i), desk.CategoryProduct, t0.Add(time.Duration(i)*time.Minute))
	}
}

// fileTicket files a ticket and returns the error, for goroutines other
// than the test's (mkTicket stops the test).
func fileTicket(ctx context.Context, db *store.DB, owner *desk.User, title, desc string) error {
	return db.CreateTicket(ctx, &desk.Ticket{Title: title, Description: desc,
		Category: desk.CategoryProduct, Status: desk.StatusNew, Priority: desk.PriorityMedium,
		CreatedBy: owner.Ref(), CreatedAt: t0, UpdatedAt: t0})
}

// keepSegments turns FTS5's own merging off, so that each write
// transaction leaves a segment of its own (it merges in bursts, every 64
// pages written, so a small index stays in one segment otherwise), and
// its emergency merge of a level with many segments (16 by default) too.
func keepSegments(t *testing.T, db *store.DB) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('automerge', 0)`,
		`INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('crisismerge', 1000)`,
	} {
		if err := db.ExecRaw(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// searchResults maps each query to the ids it finds (in the order given)
// and its total.
func searchResults(t *testing.T, db *store.DB, queries ...string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for _, q := range queries {
		for _, order := range []store.Order{"", store.OrderFiled} {
			p, err := db.Tickets(context.Background(), store.TicketFilter{Search: q, Order: order, Limit: 100})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			ids := []int64{int64(p.Total)}
			for _, tk := range p.Tickets {
				ids = append(ids, tk.ID)
			}
			out[q+"/"+string(order)] = ids
		}
	}
	return out
}

func TestMergeSearchIndex(t *testing.T) {
	t.Parallel()
	// The deadline only bounds a merge that would not end.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel) // after the parallel subtests
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := storetest.Postgres(t)
		if n, err := db.SearchSegments(ctx); err != nil || n != 0 {
			t.Fatalf("PostgreSQL segments = %d, %v; want 0, nil", n, err)
		}
		m, err := db.MergeSearchIndex(ctx, 0)
		if err != nil || !m.Done || m.Steps != 0 {
			t.Fatalf("merge on PostgreSQL = %+v, %v; want done without steps", m, err)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := storetest.SQLite(t)
		owner := mkUser(t, db, "merger", desk.RoleUser)
		keepSegments(t, db)
		fileSearchable(t, db, owner, 0, 12)
		// A deleted ticket and an edited title leave tombstones and a
		// second entry in the index, which the merge must honour.
		if err := db.ExecRaw(ctx, `DELETE FROM tickets WHERE title LIKE '%number7'`); err != nil {
			t.Fatal(err)
		}
		if err := db.ExecRaw(ctx, `UPDATE tickets SET title = 'scanner renamed' WHERE title LIKE '%number8'`); err != nil {
			t.Fatal(err)
		}
		queries := append(slices.Clone(searchWords), "printer jams", "scanner", "number7", "number8", "ticket11", "keeps failing")
		want := searchResults(t, db, queries...)
		if got := want["number7/"]; got[0] != 0 {
			t.Fatalf("the deleted ticket is still found: %v", got)
		}
		if got := want["scanner/"]; got[0] != 1 {
			t.Fatalf("the edited title is not found: %v", got)
		}
		segs, err := db.SearchSegments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if segs < 10 {
			t.Fatalf("14 write transactions left %d segments; the test needs several", segs)
		}
		v0, _ := db.WriteVersion()

		m, err := db.MergeSearchIndexSteps(ctx, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Done || m.Steps < 2 {
			t.Fatalf("merge = %+v; want done in several steps", m)
		}
		if n, _ := db.SearchSegments(ctx); n != 1 {
			t.Fatalf("after the merge: %d segments (from %d), want 1", n, segs)
		}
		if v, _ := db.WriteVersion(); v != v0 {
			t.Fatalf("the merge moved the write version (%d → %d): cached pages would be dropped for nothing", v0, v)
		}
		if got := searchResults(t, db, queries...); !mapsEqual(got, want) {
			t.Fatalf("searches changed with the merge:\n got %v\nwant %v", got, want)
		}
		// A merge with nothing to do ends after one step.
		if m, err := db.MergeSearchIndex(ctx, 0); err != nil || !m.Done || m.Steps != 1 {
			t.Fatalf("merging a merged index = %+v, %v", m, err)
		}

		// Tickets filed while a merge runs are kept and found.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 60; i < 100; i++ {
				if err := fileTicket(ctx, db, owner, fmt.Sprintf("concurrent number%d", i), "filed during a merge"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		if _, err := db.MergeSearchIndexSteps(ctx, 0, 1); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if _, err := db.MergeSearchIndex(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.SearchSegments(ctx); n != 1 {
			t.Fatalf("after the last merge: %d segments, want 1", n)
		}
		p, err := db.Tickets(ctx, store.TicketFilter{Search: "concurrent", Limit: 100})
		if err != nil || p.Total != 40 {
			t.Fatalf("tickets filed during the merge: found %d, %v; want 40", p.Total, err)
		}
		if got := searchResults(t, db, queries...); !mapsEqual(got, want) {
			t.Fatalf("searches changed with the merge during writes:\n got %v\nwant %v", got, want)
		}
	})
}
func TestMergeSearchIndexWaitsForWrites(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "waiter", desk.RoleUser)
	keepSegments(t, db)
	fileSearchable(t, db, owner, 0, 5)
	before, _ := db.SearchSegments(context.Background())
	// A write committed just now, and the merge waits for an hour of
	// quiet: it must give up when its context ends, having merged nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	m, err := db.MergeSearchIndex(ctx, time.Hour)
	if err != nil || m.Done || m.Steps != 0 {
		t.Fatalf("merge during writes = %+v, %v; want no step", m, err)
	}
	if after, _ := db.SearchSegments(context.Background()); after != before || before < 2 {
		t.Fatalf("segments %d → %d; want several, untouched", before, after)
	}
}

func TestMergeSearchIndexRunsOutOfPatience(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "impatient", desk.RoleUser)
	keepSegments(t, db)
	fileSearchable(t, db, owner, 0, 12)
	// Another client files a ticket every few milliseconds: there is no
	// lull of an hour, so the merge must go ahead once its patience runs
	// out, between those writes, and lose none of them.
	stop := make(chan struct{})
	filed := make(chan int)
	go func() {
		n := 0
		defer func() { filed <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := fileTicket(ctx, db, owner, fmt.Sprintf("steady number%d", n), "filed all along"); err != nil {
				t.Error(err)
				return
			}
			n++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	segs0, _ := db.SearchSegments(ctx)
	// The timeout only bounds a merge that would wait for ever.
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	m, err := db.MergeSearchIndexPatient(mctx, time.Hour, 20*time.Millisecond)
	cancel()
	segs1, _ := db.SearchSegments(ctx)
	close(stop)
	n := <-filed
	if err != nil || !m.Done || m.Steps < 2 {
		t.Fatalf("merge during steady writes = %+v, %v; want done in several steps", m, err)
	}
	// It stops under three segments or when FTS5 finds nothing left to
	// merge (up to three on a level); the other client files on.
	if segs1 >= segs0 {
		t.Fatalf("segments %d → %d during steady writes; want fewer", segs0, segs1)
	}
	if m, err := db.MergeSearchIndex(ctx, 0); err != nil || !m.Done {
		t.Fatalf("final merge = %+v, %v", m, err)
	}
	if segs, _ := db.SearchSegments(ctx); segs != 1 {
		t.Fatalf("%d segments after the final merge, want 1", segs)
	}
	p, err := db.Tickets(ctx, store.TicketFilter{Search: "steady", Limit: 1})
	if err != nil || p.Total != n || n == 0 {
		t.Fatalf("tickets filed during the merge: %d found, %v; %d filed", p.Total, err, n)
	}
}

func TestTidySearchIndex(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "tidy", desk.RoleUser)
	keepSegments(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { db.TidySearchIndexQuick(ctx); close(done) }()
	fileSearchable(t, db, owner, 0, 40)
	// The loop (with its quick settings) merges from two segments on;
	// once filing stops it gets the index down to one. The deadline only bounds a hung test.
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := db.SearchSegments(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d segments a minute after the last write", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	want := 0
	for i := range 40 {
		if i%len(searchWords) == 0 || (i/len(searchWords))%len(searchWords) == 0 {
			want++ // "printer" is searchWords[0]
		}
	}
	p, err := db.Tickets(context.Background(), store.TicketFilter{Search: "printer", Limit: 100})
	if err != nil || p.Total != want {
		t.Fatalf("search after tidying: %d, %v; want %d", p.Total, err, want)
	}
}

func mapsEqual(a, b map[string][]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
