package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"ticketflow/internal/desk"
)

// TicketByRef returns the id of the ticket made from any of refs, or
// KindNotFound.
func (db *DB) TicketByRef(ctx context.Context, refs ...string) (int64, error) {
	return db.ticketByRef(ctx, db.r, refs)
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (db *DB) ticketByRef(ctx context.Context, q queryer, refs []string) (int64, error) {
	if len(refs) == 0 {
		return 0, desk.ErrNotFound
	}
	args := make([]any, len(refs))
	for i, r := range refs {
		args[i] = r
	}
	var id int64
	err := q.QueryRowContext(ctx, db.q(`SELECT ticket_id FROM external_refs WHERE ref IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(refs)), ",")+`) ORDER BY created_at LIMIT 1`), args...).Scan(&id)
	return id, db.wrap(err)
}

// CreateTicketOnce stores t (as CreateTicket does) unless a ticket was
// already made from one of refs, and records refs for it. It returns the
// id of the existing ticket (and leaves t unsaved), or 0 after creating t.
// Two concurrent calls with a shared ref create one ticket: the loser gets
// the winner's id. mails go to the outbox with a created ticket only.
func (db *DB) CreateTicketOnce(ctx context.Context, t *desk.Ticket, refs []string, now time.Time, mails ...desk.Mail) (int64, error) {
	var existing int64
	attempt := func() error {
		existing = 0
		return db.inTx(ctx, func(tx *sql.Tx) error {
			id, err := db.ticketByRef(ctx, tx, refs)
			switch {
			case err == nil:
				existing = id
			case desk.IsKind(err, desk.KindNotFound):
				if err := db.insertTicket(ctx, tx, t, mails); err != nil {
					return err
				}
				id = t.ID
			default:
				return err
			}
			for _, r := range refs {
				if _, err := db.exec(ctx, tx, `INSERT INTO external_refs (ref, ticket_id, created_at) VALUES (?, ?, ?)
					ON CONFLICT (ref) DO NOTHING`, r, id, micros(now)); err != nil {
					return err
				}
			}
			if existing == 0 {
				// Every ref must now point at the new ticket, or a
				// concurrent delivery won a ref first.
				var n int
				args := []any{id}
				for _, r := range refs {
					args = append(args, r)
				}
				if err := db.txRow(ctx, tx, `SELECT count(*) FROM external_refs WHERE ticket_id = ? AND ref IN (`+
					strings.TrimSuffix(strings.Repeat("?,", len(refs)), ",")+`)`, args...).Scan(&n); err != nil {
					return err
				}
				if n != len(refs) {
					return errRefRace
				}
			}
			return nil
		})
	}
	err := attempt()
	if err == errRefRace || desk.IsKind(err, desk.KindConflict) {
		t.ID = 0
		err = attempt()
	}
	if err != nil {
		t.ID = 0
		return 0, err
	}
	return existing, nil
}

var errRefRace = desk.Errorf(desk.KindConflict, "A concurrent delivery made this ticket.")
