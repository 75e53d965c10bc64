package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
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

// TestRawQueryPanic checks that a panic in a row callback releases the
// connection's statements, so that database/sql can close the connection
// it then discards, and that reads go on.
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
	n := 0
	db.raw.conns.Range(func(_, _ any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d connections still hold cached statements", n)
	}
	if err := db.rawQuery(context.Background(), `SELECT 1`, nil, func(*sqlite3.Stmt) error { return nil }); err != nil {
		t.Fatal(err)
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
