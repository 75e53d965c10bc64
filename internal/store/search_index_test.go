package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

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
		queries, want := tombstoneIndex(t, db, owner)
		segs, err := db.SearchSegments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if segs < 10 {
			t.Fatalf("202 write transactions left %d segments; the test needs several", segs)
		}
		v0, _ := db.WriteVersion()

		m, err := db.MergeSearchIndexSteps(ctx, 0, 1)
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

// tombstoneIndex files 200 tickets one write each (200 segments on
// FTS5's first level, several pages once merged), then deletes one and
// renames another, which leave tombstones and a second entry that merges
// must honour. It returns queries covering them and their results.
func tombstoneIndex(t *testing.T, db *store.DB, owner *desk.User) ([]string, map[string][]int64) {
	t.Helper()
	ctx := context.Background()
	fileSearchable(t, db, owner, 0, 200)
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
	return queries, want
}

// waitForSegments polls the index's segment count until ok holds; the
// minute only bounds a hung test.
func waitForSegments(t *testing.T, db *store.DB, ok func(int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := db.SearchSegments(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d segments a minute later; want %s", n, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fileSteadily files a ticket every couple of milliseconds until stop is
// closed, then sends how many it filed.
func fileSteadily(t *testing.T, db *store.DB, owner *desk.User, title string, stop <-chan struct{}, filed chan<- int) {
	n := 0
	defer func() { filed <- n }()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := fileTicket(context.Background(), db, owner, fmt.Sprintf("%s number%d", title, n), "filed all along"); err != nil {
			t.Error(err)
			return
		}
		n++
		time.Sleep(2 * time.Millisecond)
	}
}

// segmentIDs lists the ids of the index's segments (a segment rewritten by
// a merge gets a new one).
func segmentIDs(t *testing.T, db *store.DB) []int64 {
	t.Helper()
	var ids []int64
	err := db.QueryRaw(context.Background(), `SELECT DISTINCT segid FROM tickets_fts_idx ORDER BY segid`, func(id int64) { ids = append(ids, id) })
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestMergeSearchIndexGoesOnThroughWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "walker", desk.RoleUser)
	keepSegments(t, db)
	fileSearchable(t, db, owner, 0, 200) // several pages once merged: a merge of several steps
	want := searchResults(t, db, searchWords...)
	// The merge starts at once (idle 0); then another client files a
	// ticket every few milliseconds. The merge must carry on between
	// those writes to the end, and lose none of them.
	stop, filed := make(chan struct{}), make(chan int)
	started := make(chan struct{})
	go func() {
		<-started
		fileSteadily(t, db, owner, "steady", stop, filed)
	}()
	// The timeout only bounds a merge that would not end.
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	close(started)
	m, err := db.MergeSearchIndexSteps(mctx, 0, 1)
	cancel()
	close(stop)
	n := <-filed
	if err != nil || !m.Done || m.Steps < 2 {
		t.Fatalf("merge during steady writes = %+v, %v; want done in several steps", m, err)
	}
	if got := searchResults(t, db, searchWords...); !mapsEqual(got, want) {
		t.Fatalf("searches changed with the merge:\n got %v\nwant %v", got, want)
	}
	p, err := db.Tickets(ctx, store.TicketFilter{Search: "steady", Limit: 1})
	if err != nil || p.Total != n || n == 0 {
		t.Fatalf("tickets filed during the merge: %d found, %v; %d filed", p.Total, err, n)
	}
}

func TestCompactSearchIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "compact", desk.RoleUser)
	keepSegments(t, db)
	// 200 small segments on FTS5's first level, which merge into one of
	// several pages, with tombstones.
	queries, want := tombstoneIndex(t, db, owner)
	before := segmentIDs(t, db)
	if len(before) < 10 {
		t.Fatalf("segments %v after 202 writes; the test needs several", before)
	}
	v0, _ := db.WriteVersion()
	m, err := db.CompactSearchIndex(ctx, 0)
	if err != nil || !m.Done {
		t.Fatalf("compaction = %+v, %v; want done", m, err)
	}
	merged := segmentIDs(t, db)
	if len(merged) != 1 {
		t.Fatalf("segments %v → %v; want the level merged into one", before, merged)
	}
	if v, _ := db.WriteVersion(); v != v0 {
		t.Fatalf("the compaction moved the write version (%d → %d)", v0, v)
	}
	if got := searchResults(t, db, queries...); !mapsEqual(got, want) {
		t.Fatalf("searches changed with the compaction:\n got %v\nwant %v", got, want)
	}

	// One more write: its one-page segment is alone on the first level,
	// the bigger merged one alone on the next. A compaction merges no
	// level that holds a single segment, so it leaves both (a merge
	// gathers them into one).
	fileSearchable(t, db, owner, 200, 1)
	want = searchResults(t, db, queries...)
	two := segmentIDs(t, db)
	if m, err := db.CompactSearchIndex(ctx, 0); err != nil || !m.Done || m.Steps != 1 {
		t.Fatalf("compacting one segment per level = %+v, %v; want one step that finds nothing", m, err)
	}
	if got := segmentIDs(t, db); len(two) != 2 || !slices.Equal(got, two) {
		t.Fatalf("segments %v → %v; want the two left as they were", two, got)
	}
	if m, err := db.MergeSearchIndex(ctx, 0); err != nil || !m.Done {
		t.Fatalf("merge = %+v, %v", m, err)
	}
	if got := segmentIDs(t, db); len(got) != 1 {
		t.Fatalf("segments %v → %v after a merge; want one", two, got)
	}

	// During steady writes (idle an hour: every write is recent) it does
	// not wait for a lull, ends, and loses nothing.
	stop, filed := make(chan struct{}), make(chan int)
	go fileSteadily(t, db, owner, "steady", stop, filed)
	waitForSegments(t, db, func(n int) bool { return n >= 2*store.SearchMergeFrom }, "some to compact")
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	m, err = db.CompactSearchIndex(mctx, time.Hour)
	cancel()
	close(stop)
	n := <-filed
	if err != nil || !m.Done {
		t.Fatalf("compaction during steady writes = %+v, %v; want done", m, err)
	}
	p, err := db.Tickets(ctx, store.TicketFilter{Search: "steady", Limit: 1})
	if err != nil || p.Total != n || n == 0 {
		t.Fatalf("tickets filed during the compaction: %d found, %v; %d filed", p.Total, err, n)
	}
	got := searchResults(t, db, queries...)
	if !mapsEqual(got, want) {
		t.Fatalf("searches changed with the compaction during writes:\n got %v\nwant %v", got, want)
	}
}

func TestTidySearchIndexCompactsWithoutLulls(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "tidier", desk.RoleUser)
	keepSegments(t, db) // FTS5 merges nothing itself: each write stays a segment
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// The loop never sees a lull (its idle time is an hour), so it must
	// compact.
	go func() { db.TidySearchIndexBusy(ctx); close(done) }()
	stop, filed := make(chan struct{}), make(chan int)
	go fileSteadily(t, db, owner, "busy", stop, filed)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	n := <-filed
	waitForSegments(t, db, func(n int) bool { return n < store.SearchMergeFrom }, "fewer than the loop tolerates")
	cancel()
	<-done
	if n < 2*store.SearchMergeFrom {
		t.Fatalf("only %d tickets filed; the test needs more segments than the loop tolerates", n)
	}
	p, err := db.Tickets(context.Background(), store.TicketFilter{Search: "busy", Limit: 1})
	if err != nil || p.Total != n {
		t.Fatalf("search after compacting: %d, %v; want %d", p.Total, err, n)
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
	// once filing stops it gets the index down to one.
	waitForSegments(t, db, func(n int) bool { return n == 1 }, "one after the last write")
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

func TestTidySearchIndexRunsOutOfPatience(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "patient", desk.RoleUser)
	keepSegments(t, db)
	// A big segment and a small one on two levels: compacting finds
	// nothing to merge (see TestCompactSearchIndex), only a merge joins
	// them.
	fileSearchable(t, db, owner, 0, 200)
	if m, err := db.MergeSearchIndex(ctx, 0); err != nil || !m.Done {
		t.Fatalf("merge = %+v, %v", m, err)
	}
	fileSearchable(t, db, owner, 200, 1)
	if got := segmentIDs(t, db); len(got) != 2 {
		t.Fatalf("segments %v; the test needs two", got)
	}
	want := searchResults(t, db, searchWords...)
	// The loop sees writes as recent (its idle time is an hour): it
	// compacts, in vain, until its patience of 50 ms runs out, then merges.
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { db.TidySearchIndexPatient(tctx, 50*time.Millisecond); close(done) }()
	waitForSegments(t, db, func(n int) bool { return n == 1 }, "the two merged into one")
	cancel()
	<-done
	if got := searchResults(t, db, searchWords...); !mapsEqual(got, want) {
		t.Fatalf("searches changed with the merge:\n got %v\nwant %v", got, want)
	}
}

func TestStructureMerging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "structure", desk.RoleUser)
	keepSegments(t, db)
	merging := func() bool {
		t.Helper()
		b, err := db.SearchStructure(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := store.StructureMerging(b)
		if err != nil {
			t.Fatalf("structure record %x: %v", b, err)
		}
		return m
	}
	if merging() {
		t.Fatal("an empty index reads as merging")
	}
	fileSearchable(t, db, owner, 0, 200)
	if merging() {
		t.Fatal("an index of single writes reads as merging")
	}
	// One page of a merge of 200 segments (several pages of output) leaves
	// it in progress.
	if err := db.ExecRaw(ctx, `INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('merge', -1)`); err != nil {
		t.Fatal(err)
	}
	if !merging() {
		t.Fatal("a merge in progress is not seen")
	}
	b, _ := db.SearchStructure(ctx)
	for n := range len(b) {
		if _, err := store.StructureMerging(b[:n]); err == nil && n < 12 {
			t.Fatalf("a record cut to %d bytes reads without error", n)
		}
	}
	if m, err := db.MergeSearchIndex(ctx, 0); err != nil || !m.Done {
		t.Fatalf("merge = %+v, %v", m, err)
	}
	if merging() {
		t.Fatal("a finished merge still reads as merging")
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

// TestSegmentLookupsAreNotReplanned checks that SQLite keeps one plan for a
// statement whatever values are bound to it. FTS5 finds a term in each
// segment of its index with the statement below, bound to each segment's
// id in turn; segment ids start at 1, and SQLite 3.54 re-parses a
// statement whose integer binding moves between 0 or 1 and another value
// unless the query planner stability guarantee is on, which cost 15% of a
// search on an index of several segments.
func TestSegmentLookupsAreNotReplanned(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	owner := mkUser(t, db, "segments", desk.RoleUser)
	fileSearchable(t, db, owner, 0, 4) // four segments, ids 1 to 4
	segs := map[int64]bool{}
	if err := db.QueryRaw(ctx, `SELECT DISTINCT segid FROM tickets_fts_idx`, func(id int64) { segs[id] = true }); err != nil {
		t.Fatal(err)
	}
	if !segs[1] || len(segs) < 2 {
		t.Fatalf("segment ids %v: want 1 and others", segs)
	}
	err := db.RawConns(ctx, func(name string, c *sqlite3.Conn) error {
		on, err := c.Config(sqlite3.DBCONFIG_ENABLE_QPSG)
		if err != nil {
			return err
		}
		if !on {
			t.Errorf("%s: query planner stability guarantee is off", name)
		}
		st, _, err := c.Prepare(`SELECT pgno FROM tickets_fts_idx WHERE segid = ? AND term <= ? ORDER BY term DESC LIMIT 1`)
		if err != nil {
			return err
		}
		defer st.Close()
		found := 0
		for i := range 100 {
			for id := range segs {
				if err := st.BindInt64(1, id); err != nil {
					return err
				}
				if err := st.BindBlob(2, []byte("0"+searchWords[i%len(searchWords)])); err != nil {
					return err
				}
				if st.Step() {
					found++
				}
				if err := st.Reset(); err != nil {
					return err
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: no lookup found a page", name)
		}
		if n := st.Status(sqlite3.STMTSTATUS_REPREPARE, false); n != 0 {
			t.Errorf("%s: the lookup was parsed again %d times in %d runs", name, n, st.Status(sqlite3.STMTSTATUS_RUN, false))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
