package store

import (
	"context"
	"database/sql"
	"strings"

	"ticketflow/internal/desk"
)

// importBatch is how many tickets one multi-row INSERT carries.
const importBatch = 500

// ImportTickets bulk-inserts tickets (for seeding and for migrating from
// another helpdesk) in one transaction, with a status history consistent
// with each ticket's status: created as New by its creator; for tickets
// under review or resolved, a move to Under Review by admin an hour later;
// for resolved ones, a move to Resolved at UpdatedAt. IDs are not set on
// the given tickets; attachments are not imported. Run it on an idle
// database: it holds the write lock for the whole call.
func (db *DB) ImportTickets(ctx context.Context, tickets []desk.Ticket, admin int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(tickets); start += importBatch {
			batch := tickets[start:min(start+importBatch, len(tickets))]
			ids, err := db.insertTicketRows(ctx, tx, batch)
			if err != nil {
				return err
			}
			if err := db.insertImportedHistory(ctx, tx, ids, admin); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) insertTicketRows(ctx context.Context, tx *sql.Tx, batch []desk.Ticket) ([]any, error) {
	var b strings.Builder
	b.WriteString(`INSERT INTO tickets (title, description, category, status, priority, created_by, assignee_id, created_at, updated_at) VALUES `)
	args := make([]any, 0, 9*len(batch))
	for i := range batch {
		t := &batch[i]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, t.Title, t.Description, string(t.Category), string(t.Status), t.Priority.Rank(), t.CreatedBy.ID,
			nullID(t.Assignee), micros(t.CreatedAt), micros(t.UpdatedAt))
	}
	b.WriteString(" RETURNING id")
	rows, err := db.txQuery(ctx, tx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]any, 0, len(batch))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (db *DB) insertImportedHistory(ctx context.Context, tx *sql.Tx, ids []any, admin int64) error {
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	const hour = int64(3600e6)
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO status_history (ticket_id, from_status, to_status, changed_by, note, created_at)
			SELECT id, '', 'New', created_by, '', created_at FROM tickets WHERE id IN (` + in + `)`, ids},
		{`INSERT INTO status_history (ticket_id, from_status, to_status, changed_by, note, created_at)
			SELECT id, 'New', 'Under Review', ?, '', CASE WHEN created_at + ? < updated_at THEN created_at + ? ELSE updated_at END
			FROM tickets WHERE status <> 'New' AND id IN (` + in + `)`, append([]any{admin, hour, hour}, ids...)},
		{`INSERT INTO status_history (ticket_id, from_status, to_status, changed_by, note, created_at)
			SELECT id, 'Under Review', 'Resolved', ?, '', updated_at FROM tickets WHERE status = 'Resolved' AND id IN (` + in + `)`,
			append([]any{admin}, ids...)},
	}
	for _, s := range steps {
		if _, err := db.exec(ctx, tx, s.q, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// Optimize refreshes the query planner's statistics (and, on SQLite, merges
// the full-text index's segments). Run it after a bulk import.
//
// On SQLite only the per-index summaries (sqlite_stat1) are kept: with the
// value samples of sqlite_stat4 present, every statement whose bound values
// could change the plan is re-parsed at each execution, which costs more
// than the queries themselves, and TicketFlow's queries are written for
// one plan.
func (db *DB) Optimize(ctx context.Context) error {
	stmts := []string{"ANALYZE"}
	if db.dialect == SQLite {
		stmts = append(stmts, "DELETE FROM sqlite_stat4", "ANALYZE sqlite_schema",
			"INSERT INTO tickets_fts (tickets_fts) VALUES ('optimize')", "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	for _, s := range stmts {
		if _, err := db.w.ExecContext(ctx, s); err != nil {
			return db.wrap(err)
		}
	}
	return nil
}

// CountTickets returns the number of tickets (from the maintained counts).
func (db *DB) CountTickets(ctx context.Context) (int, error) {
	return db.countTickets(ctx, TicketFilter{})
}

// CursorAt returns the cursor positioned after the ticket at the given
// 0-based offset of an order (for benchmarks and tools that need a deep
// page without paging there).
func (db *DB) CursorAt(ctx context.Context, o Order, offset int) (Cursor, error) {
	col, desc := o.column()
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	var key, id int64
	err := db.queryRow(ctx, `SELECT `+col+`, t.id FROM tickets t ORDER BY `+col+` `+dir+`, t.id `+dir+` LIMIT 1 OFFSET ?`,
		offset).Scan(&key, &id)
	if err != nil {
		return Cursor{}, db.wrap(err)
	}
	return Cursor{Order: o, Key: key, ID: id}, nil
}
