package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
)

// MigrateTo applies the migrations up to version v, for tests of what a
// later migration does to existing rows.
func (db *DB) MigrateTo(ctx context.Context, v int64) error {
	p, err := db.provider(ctx)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}

// ExecRaw runs one write statement (? placeholders) in its own transaction.
func (db *DB) ExecRaw(ctx context.Context, q string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, q, args...)
		return err
	})
}

// QueryRaw runs a read query whose rows are one integer and calls row with each.
func (db *DB) QueryRaw(ctx context.Context, q string, row func(int64)) error {
	rows, err := db.query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return err
		}
		row(v)
	}
	return rows.Err()
}

// TicketLinks reads a ticket's chat_id and has_attachments columns as
// stored (reads only look attachments up when the flag is set, so a flag
// left set would not show through them).
func (db *DB) TicketLinks(ctx context.Context, id int64) (chatID int64, has bool, err error) {
	var chat sql.NullInt64
	err = db.r.QueryRowContext(ctx, db.q(`SELECT chat_id, has_attachments FROM tickets WHERE id = ?`), id).Scan(&chat, &has)
	return chat.Int64, has, err
}

// MergeSearchIndexSteps is MergeSearchIndex with pages of work per step.
func (db *DB) MergeSearchIndexSteps(ctx context.Context, idle time.Duration, pages int) (SearchMerge, error) {
	return db.mergeSearchIndex(ctx, searchTidy{idle: idle, pages: pages}, false)
}

// CompactSearchIndex runs one compaction (see compactSearchIndex) in steps
// of two pages, as TidySearchIndex does while writes come closer together
// than idle.
func (db *DB) CompactSearchIndex(ctx context.Context, idle time.Duration) (SearchMerge, error) {
	return db.compactSearchIndex(ctx, searchTidy{idle: idle, pages: 2, minSegments: SearchMergeFrom})
}

// StructureMerging is structureMerging, for tests.
var StructureMerging = structureMerging

// SearchStructure reads FTS5's structure record.
func (db *DB) SearchStructure(ctx context.Context) ([]byte, error) {
	var b []byte
	err := db.queryRow(ctx, searchStructure).Scan(&b)
	return b, err
}

// TidySearchIndexQuick runs TidySearchIndex's loop with settings that let
// a test see it work: counts every few milliseconds, steps after 20 ms
// without writes, no gap between merges.
func (db *DB) TidySearchIndexQuick(ctx context.Context) {
	db.tidySearchIndex(ctx, searchTidy{every: 5 * time.Millisecond, idle: 20 * time.Millisecond, minSegments: 2, pages: 4, gap: 0})
}

// TidySearchIndexPatient is TidySearchIndexBusy from two segments on, with
// patience: it merges once the index has waited that long.
func (db *DB) TidySearchIndexPatient(ctx context.Context, patience time.Duration) {
	db.tidySearchIndex(ctx, searchTidy{every: 5 * time.Millisecond, idle: time.Hour, patience: patience, minSegments: 2, pages: 4, gap: 0})
}

// TidySearchIndexBusy runs TidySearchIndex's loop counting every few
// milliseconds with an idle time of an hour: it only ever compacts.
func (db *DB) TidySearchIndexBusy(ctx context.Context) {
	db.tidySearchIndex(ctx, searchTidy{every: 5 * time.Millisecond, idle: time.Hour, minSegments: SearchMergeFrom, pages: 4, gap: 0})
}

// RawConns calls fn with the SQLite writer connection, then with a read
// connection.
func (db *DB) RawConns(ctx context.Context, fn func(name string, c *sqlite3.Conn) error) error {
	for _, p := range []struct {
		name string
		pool *sql.DB
	}{{"writer", db.w}, {"reader", db.r}} {
		conn, err := p.pool.Conn(ctx)
		if err != nil {
			return err
		}
		err = conn.Raw(func(dc any) error { return fn(p.name, dc.(driver.Conn).Raw()) })
		conn.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Replanning returns cfg for a store whose SQLite connections re-plan
// statements for new bound values, as SQLite does by default (see
// initConn).
func Replanning(cfg Config) Config {
	cfg.replan = true
	return cfg
}
