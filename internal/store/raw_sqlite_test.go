package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"ticketflow/internal/desk"
)

// openOneReader opens a SQLite store whose read pool has one connection,
// so that every read below runs on the same connection.
func openOneReader(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Config{SQLitePath: filepath.Join(t.TempDir(), "ticketflow.db"), ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

const countToMillion = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x FROM c`

// TestRawQueryInterrupted cancels a read between two rows: the next step
// must stop with the context's error, and the connection must serve the
// next read from its first row.
func TestRawQueryInterrupted(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	ctx, cancel := context.WithCancel(context.Background())
	rows := 0
	err := db.rawQuery(ctx, countToMillion, nil, func(st *sqlite3.Stmt) error {
		rows++
		if rows == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || rows >= 1000000 {
		t.Fatalf("after %d rows: %v", rows, err)
	}
	var first []int64
	err = db.rawQuery(context.Background(), countToMillion+` LIMIT ?`, []any{3}, func(st *sqlite3.Stmt) error {
		first = append(first, st.ColumnInt64(0))
		return nil
	})
	if err != nil || len(first) != 3 || first[0] != 1 || first[2] != 3 {
		t.Fatalf("next read on the connection: %v, %v", first, err)
	}
	// The interrupted statement itself starts over when run again.
	rows = 0
	err = db.rawQuery(context.Background(), countToMillion, nil, func(st *sqlite3.Stmt) error {
		if rows++; rows == 1 && st.ColumnInt64(0) != 1 {
			t.Errorf("rerun began at %d", st.ColumnInt64(0))
		}
		if rows == 5 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("callback error: %v", err)
	}
}

var errStop = errors.New("stop")

// TestRawQueryPanic checks that a panic in a row callback closes the
// connection it happened on (its statements and transaction in an unknown
// state) and frees its place in the pool, and that reads go on.
func TestRawQueryPanic(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not propagate")
			}
		}()
		db.rawQuery(context.Background(), countToMillion, nil, func(*sqlite3.Stmt) error { panic("boom") })
	}()
	if open, idle := len(db.raw.slots), len(db.raw.idle); open != 0 || idle != 0 {
		t.Fatalf("after the panic the pool has %d connections open, %d idle; want none", open, idle)
	}
	if err := db.rawQuery(context.Background(), `SELECT 1`, nil, func(*sqlite3.Stmt) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// openSnapshots opens a store whose raw reads run on one connection that
// keeps its snapshot for age, unless this store writes.
func openSnapshots(t *testing.T, path string, age time.Duration) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{SQLitePath: path, ReadConns: 1, snapshotAge: age})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// rawTitles lists the tickets' titles through rawQuery, by id.
func rawTitles(t *testing.T, db *DB) []string {
	t.Helper()
	return rawTitlesCtx(t, db, context.Background())
}

func rawTitlesCtx(t *testing.T, db *DB, ctx context.Context) []string {
	t.Helper()
	var out []string
	err := db.rawQuery(ctx, `SELECT title FROM tickets ORDER BY id`, nil, func(st *sqlite3.Stmt) error {
		out = append(out, st.ColumnText(0))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func probeOwner(t *testing.T, db *DB) *desk.User {
	t.Helper()
	u := &desk.User{Email: "o@example.com", Username: "owner", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: time.Now()}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func fileProbe(t *testing.T, db *DB, owner *desk.User, title string) {
	t.Helper()
	now := time.Now().UTC()
	if err := db.CreateTicket(context.Background(), &desk.Ticket{Title: title, Description: "snapshot probe", Category: desk.CategoryProduct,
		Status: desk.StatusNew, Priority: desk.PriorityMedium, CreatedBy: owner.Ref(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// TestRawSnapshot checks when a raw read connection's snapshot ends. A
// write by another store on the same file (another process) stays unseen
// while the snapshot lasts (here an hour, so that the test does not
// depend on the clock) but by a read under FreshReads, which ends it; a
// write by this store ends the snapshot too, so the next read sees
// everything.
func TestRawSnapshot(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ticketflow.db")
	db := openSnapshots(t, path, time.Hour)
	other := openSnapshots(t, path, time.Hour)
	owner := probeOwner(t, db)
	file := func(db *DB, title string) { fileProbe(t, db, owner, title) }
	file(db, "first")
	if got := rawTitles(t, db); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("after this store's write: %q", got)
	}
	file(other, "from elsewhere")
	if got := rawTitles(t, db); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("the snapshot did not last: %q", got)
	}
	if got := rawTitlesCtx(t, db, FreshReads(context.Background())); !slices.Equal(got, []string{"first", "from elsewhere"}) {
		t.Fatalf("a fresh read: %q", got)
	}
	if got := rawTitles(t, db); !slices.Equal(got, []string{"first", "from elsewhere"}) {
		t.Fatalf("the read after a fresh one: %q", got)
	}
	file(other, "again from elsewhere")
	if got := rawTitles(t, db); !slices.Equal(got, []string{"first", "from elsewhere"}) {
		t.Fatalf("the snapshot begun after the fresh read did not last: %q", got)
	}
	file(db, "fourth")
	if got := rawTitles(t, db); !slices.Equal(got, []string{"first", "from elsewhere", "again from elsewhere", "fourth"}) {
		t.Fatalf("after this store's second write: %q", got)
	}
}

// TestRawSnapshotReaped checks that the reaper ends the snapshot of an idle
// read connection (which would keep the WAL from being reset), and that a
// write from elsewhere is seen after that without a write here.
func TestRawSnapshotReaped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ticketflow.db")
	db := openSnapshots(t, path, 0) // maxSnapshotAge
	other := openSnapshots(t, path, 0)
	if got := rawTitles(t, db); len(got) != 0 {
		t.Fatalf("titles before any ticket: %q", got)
	}
	inTx := func() bool {
		rc := <-db.raw.idle
		defer db.raw.put(rc, false)
		return !rc.c.GetAutocommit()
	}
	// The deadline only bounds a reaper that never comes.
	for deadline := time.Now().Add(30 * time.Second); inTx(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection still holds its snapshot")
		}
	}
	fileProbe(t, other, probeOwner(t, other), "from elsewhere")
	if got := rawTitles(t, db); !slices.Equal(got, []string{"from elsewhere"}) {
		t.Fatalf("after the reaper: %q", got)
	}
}

// TestWriterTempStore checks that the writer keeps its statement journals
// (one per savepoint in a group commit) in memory, not in temporary files.
func TestWriterTempStore(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	var mode int
	if err := db.w.QueryRow(`PRAGMA temp_store`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("temp_store = %d (2 is memory), %v", mode, err)
	}
}

// TestSentMailPurgePlan checks that purging old sent mail finds them by
// date through mail_outbox_sent and never scans the outbox.
func TestSentMailPurgePlan(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	joined := queryPlan(t, db, deleteSentMail, 0)
	if !strings.Contains(joined, "mail_outbox_sent (status=? AND sent_at<?)") || strings.Contains(joined, "SCAN mail_outbox") {
		t.Fatalf("plan:\n%s", joined)
	}
}

// TestSentMailPurgeChunks purges more sent mails than one chunk: all old
// ones go, in several transactions, and newer or unsent ones stay.
func TestSentMailPurgeChunks(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	ctx := context.Background()
	if _, err := db.w.Exec(`INSERT INTO users (email, email_key, username, username_key, password_hash, role, is_active, token_version, date_joined, updated_at)
		VALUES ('a@example.com', 'a@example.com', 'a', 'a', 'x', 'user', 1, 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	old := 2*sentMailChunk + 500
	if _, err := db.w.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO mail_outbox (notice, user_id, address, data, status, next_attempt_at, created_at, sent_at)
		SELECT 'new_ticket', 1, 'a@example.com', '{}', CASE WHEN i <= ? THEN 'sent' WHEN i % 2 = 0 THEN 'sent' ELSE 'pending' END,
			0, 0, CASE WHEN i <= ? THEN 100 ELSE 5000 END FROM n`, old+10, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteSentMail(ctx, fromMicros(1000))
	if err != nil || n != old {
		t.Fatalf("purged %d, want %d: %v", n, old, err)
	}
	var left int
	if err := db.r.QueryRow(`SELECT count(*) FROM mail_outbox`).Scan(&left); err != nil || left != 10 {
		t.Fatalf("%d mails left, want 10: %v", left, err)
	}
}

// TestActiveAdminsPlan checks that the admins' read searches the role
// index, with statistics like a real desk's (thousands of users, a few
// admins), instead of walking every user in id order.
func TestActiveAdminsPlan(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	if _, err := db.w.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO users (email, email_key, username, username_key, password_hash, role, is_active, token_version, date_joined, updated_at)
		SELECT 'u' || i || '@example.com', 'u' || i || '@example.com', 'u' || i, 'u' || i, 'x',
			CASE WHEN i % 500 = 0 THEN 'admin' ELSE 'user' END, 1, 0, 0, 0 FROM n`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	// The index ends in the rowid, so it also gives the id order: no sort.
	if joined := queryPlan(t, db, activeAdmins); !strings.Contains(joined, "INDEX users_role_active (role=? AND is_active=?)") ||
		strings.Contains(joined, "TEMP B-TREE") {
		t.Fatalf("plan:\n%s", joined)
	}
	admins, err := db.ActiveAdmins(context.Background())
	if err != nil || len(admins) != 4 || admins[0].Username != "u500" || admins[3].Username != "u2000" {
		t.Fatalf("ActiveAdmins = %v, %v", admins, err)
	}
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN for q, one step per line.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
