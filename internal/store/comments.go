package store

import (
	"context"
	"database/sql"

	"ticketflow/internal/desk"
)

// CreateComment inserts c and its attachments in one transaction, releases
// the attachments' blob intents and, for a public reply, bumps the ticket's
// updated_at (an internal note leaves no trace the owner could see). It
// sets the IDs of c and of each attachment; a missing ticket is KindNotFound.
// mails go to the outbox in the same transaction.
func (db *DB) CreateComment(ctx context.Context, c *desk.Comment, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := db.txRow(ctx, tx, `SELECT 1 FROM tickets WHERE id = ?`, c.TicketID).Scan(&one); err != nil {
			return err
		}
		err := db.txRow(ctx, tx, `INSERT INTO comments (ticket_id, author_id, body, internal, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, c.TicketID, c.Author.ID, c.Body, c.Internal, micros(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			return err
		}
		for i := range c.Attachments {
			a := &c.Attachments[i]
			a.TicketID, a.CommentID = c.TicketID, c.ID
			if err := db.insertAttachment(ctx, tx, a); err != nil {
				return err
			}
		}
		if !c.Internal {
			if _, err = db.exec(ctx, tx, `UPDATE tickets SET updated_at = ? WHERE id = ? AND updated_at < ?`,
				micros(c.CreatedAt), c.TicketID, micros(c.CreatedAt)); err != nil {
				return err
			}
		}
		return db.enqueueMail(ctx, tx, c.TicketID, c.CreatedAt, mails)
	})
}

const commentColumns = `c.id, c.ticket_id, c.body, c.internal, c.created_at, u.id, u.username, u.email`

func scanComment(row interface{ Scan(...any) error }) (*desk.Comment, error) {
	var c desk.Comment
	var at int64
	if err := row.Scan(&c.ID, &c.TicketID, &c.Body, &c.Internal, &at, &c.Author.ID, &c.Author.Username, &c.Author.Email); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMicros(at)
	return &c, nil
}

// CommentByID returns one comment with its attachments, or KindNotFound.
func (db *DB) CommentByID(ctx context.Context, id int64) (*desk.Comment, error) {
	c, err := scanComment(db.queryRow(ctx, `SELECT `+commentColumns+`
		FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = ?`, id))
	if err != nil {
		return nil, db.wrap(err)
	}
	atts, err := db.commentAttachments(ctx, c.TicketID, c.ID)
	c.Attachments = atts[c.ID]
	return c, err
}

// CommentFilter selects a ticket's comments.
type CommentFilter struct {
	TicketID        int64
	IncludeInternal bool  // false: public replies only
	AfterID         int64 // only comments with a greater id
	Limit           int   // default and maximum 500
}

// Comments returns a ticket's comments with their attachments, oldest first.
func (db *DB) Comments(ctx context.Context, f CommentFilter) ([]desk.Comment, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	q := `SELECT ` + commentColumns + ` FROM comments c JOIN users u ON u.id = c.author_id WHERE c.ticket_id = ? AND c.id > ?`
	if !f.IncludeInternal {
		q += ` AND NOT c.internal`
	}
	rows, err := db.query(ctx, q+` ORDER BY c.id`+limitClause(limit), f.TicketID, f.AfterID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	out := []desk.Comment{}
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, db.wrap(err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(err)
	}
	if len(out) == 0 {
		return out, nil
	}
	atts, err := db.commentAttachments(ctx, f.TicketID, 0)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Attachments = atts[out[i].ID]
	}
	return out, nil
}

// commentAttachments returns the attachments of a ticket's comments (of
// one comment if commentID is not 0), grouped by comment id.
func (db *DB) commentAttachments(ctx context.Context, ticketID, commentID int64) (map[int64][]desk.Attachment, error) {
	q := `SELECT ` + attachmentColumns + ` FROM attachments WHERE ticket_id = ? AND comment_id IS NOT NULL`
	args := []any{ticketID}
	if commentID != 0 {
		q, args = q+` AND comment_id = ?`, append(args, commentID)
	}
	rows, err := db.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	out := map[int64][]desk.Attachment{}
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, db.wrap(err)
		}
		out[a.CommentID] = append(out[a.CommentID], a)
	}
	return out, db.wrap(rows.Err())
}
