package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"ticketflow/internal/desk"
)

const chatColumns = `c.id, c.status, c.ticket_id, c.created_at, c.updated_at, c.closed_at, u.id, u.username, u.email`

const chatFrom = ` FROM chats c JOIN users u ON u.id = c.user_id`

func scanChat(row interface{ Scan(...any) error }, extra ...any) (*desk.Chat, error) {
	var c desk.Chat
	var status string
	var ticket, closed sql.NullInt64
	var created, updated int64
	dest := append([]any{&c.ID, &status, &ticket, &created, &updated, &closed, &c.User.ID, &c.User.Username, &c.User.Email}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	c.Status, c.TicketID = desk.ChatStatus(status), ticket.Int64
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	if closed.Valid {
		c.ClosedAt = fromMicros(closed.Int64)
	}
	return &c, nil
}

// OpenChat returns userID's open chat, creating it if there is none, and
// reports whether it was created. Concurrent callers get the same chat.
func (db *DB) OpenChat(ctx context.Context, userID int64, now time.Time) (*desk.Chat, bool, error) {
	c, err := db.OpenChatOf(ctx, userID)
	if err == nil || !desk.IsKind(err, desk.KindNotFound) {
		return c, false, err
	}
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		return db.txRow(ctx, tx, `INSERT INTO chats (user_id, status, created_at, updated_at) VALUES (?, 'open', ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`, userID, micros(now), micros(now)).Scan(&id)
	})
	if desk.IsKind(err, desk.KindNotFound) { // lost the race: the other chat stands
		c, err = db.OpenChatOf(ctx, userID)
		return c, false, err
	}
	if err != nil {
		return nil, false, err
	}
	c, err = db.ChatByID(ctx, id)
	return c, true, err
}

// OpenChatOf returns userID's open chat, or KindNotFound.
func (db *DB) OpenChatOf(ctx context.Context, userID int64) (*desk.Chat, error) {
	c, err := scanChat(db.queryRow(ctx, `SELECT `+chatColumns+chatFrom+` WHERE c.user_id = ? AND c.status = 'open'`, userID))
	return c, db.wrap(err)
}

// ChatByID returns a chat, or KindNotFound.
func (db *DB) ChatByID(ctx context.Context, id int64) (*desk.Chat, error) {
	c, err := scanChat(db.queryRow(ctx, `SELECT `+chatColumns+chatFrom+` WHERE c.id = ?`, id))
	return c, db.wrap(err)
}

// ChatFilter selects chats for a list, most recently active first.
type ChatFilter struct {
	UserID int64           // only this user's chats
	Status desk.ChatStatus // only chats in this status
	Limit  int             // default and maximum 200
}

// Chats returns chats with their newest message's text.
func (db *DB) Chats(ctx context.Context, f ChatFilter) ([]desk.Chat, error) {
	var where []string
	var args []any
	if f.UserID != 0 {
		where, args = append(where, "c.user_id = ?"), append(args, f.UserID)
	}
	if f.Status != "" {
		where, args = append(where, "c.status = ?"), append(args, string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	q := `SELECT ` + chatColumns + `, coalesce((SELECT m.body FROM chat_messages m WHERE m.chat_id = c.id ORDER BY m.id DESC LIMIT 1), '')` + chatFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.query(ctx, q+` ORDER BY c.updated_at DESC, c.id DESC`+limitClause(limit), args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	out := []desk.Chat{}
	for rows.Next() {
		var last string
		c, err := scanChat(rows, &last)
		if err != nil {
			return nil, db.wrap(err)
		}
		c.LastMessage = last
		out = append(out, *c)
	}
	return out, db.wrap(rows.Err())
}

// AddChatMessage appends m to its chat, which must be open (KindConflict
// if it is closed, KindNotFound if it does not exist), and sets m.ID.
// mails (their ChatID is set) go to the outbox in the same transaction.
func (db *DB) AddChatMessage(ctx context.Context, m *desk.ChatMessage, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE chats SET updated_at = ? WHERE id = ? AND status = 'open'`, micros(m.CreatedAt), m.ChatID)
		if err := notFoundIfNone(res, err); err != nil {
			return db.chatConflict(ctx, tx, m.ChatID, err)
		}
		if err := db.txRow(ctx, tx, `INSERT INTO chat_messages (chat_id, author_id, from_agent, body, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, m.ChatID, m.Author.ID, m.FromAgent, m.Body, micros(m.CreatedAt)).Scan(&m.ID); err != nil {
			return err
		}
		for i := range mails {
			mails[i].ChatID = m.ChatID
		}
		return db.enqueueMail(ctx, tx, 0, m.CreatedAt, mails)
	})
}

// errChatClosed is returned for writes to a chat that is no longer open.
var errChatClosed = desk.Errorf(desk.KindConflict, "This chat has ended.")

// chatConflict turns a not-found from a conditional update into a conflict
// when the chat exists (it was closed meanwhile).
func (db *DB) chatConflict(ctx context.Context, tx *sql.Tx, id int64, err error) error {
	if !desk.IsKind(err, desk.KindNotFound) {
		return err
	}
	var one int
	if db.txRow(ctx, tx, `SELECT 1 FROM chats WHERE id = ?`, id).Scan(&one) == nil {
		return errChatClosed
	}
	return err
}

// ChatMessages returns a chat's messages with an id above afterID, oldest
// first, at most 1,000.
func (db *DB) ChatMessages(ctx context.Context, chatID, afterID int64) ([]desk.ChatMessage, error) {
	rows, err := db.query(ctx, `SELECT m.id, m.from_agent, m.body, m.created_at, u.id, u.username, u.email
		FROM chat_messages m JOIN users u ON u.id = m.author_id WHERE m.chat_id = ? AND m.id > ? ORDER BY m.id LIMIT 1000`, chatID, afterID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	out := []desk.ChatMessage{}
	for rows.Next() {
		m := desk.ChatMessage{ChatID: chatID}
		var at int64
		if err := rows.Scan(&m.ID, &m.FromAgent, &m.Body, &at, &m.Author.ID, &m.Author.Username, &m.Author.Email); err != nil {
			return nil, db.wrap(err)
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	return out, db.wrap(rows.Err())
}

// CloseChat closes an open chat (KindConflict if it is already closed) and
// returns it.
func (db *DB) CloseChat(ctx context.Context, id int64, now time.Time) (*desk.Chat, error) {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE chats SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ? AND status = 'open'`,
			micros(now), micros(now), id)
		return db.chatConflict(ctx, tx, id, notFoundIfNone(res, err))
	})
	if err != nil {
		return nil, err
	}
	return db.ChatByID(ctx, id)
}

// CreateTicketFromChat inserts t (as CreateTicket does, mails included)
// and, in the same transaction, links chat chatID to it and closes the
// chat. The chat's unsent mails that name no ticket yet are linked to t and
// made due at once. A chat that already became a ticket is KindConflict and
// nothing is stored.
func (db *DB) CreateTicketFromChat(ctx context.Context, t *desk.Ticket, chatID int64, now time.Time, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertTicket(ctx, tx, t, mails); err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, `UPDATE chats SET ticket_id = ?, status = 'closed', updated_at = ?,
			closed_at = coalesce(closed_at, ?) WHERE id = ? AND ticket_id IS NULL`, t.ID, micros(now), micros(now), chatID)
		if err := notFoundIfNone(res, err); err != nil {
			if desk.IsKind(err, desk.KindNotFound) {
				var one int
				if db.txRow(ctx, tx, `SELECT 1 FROM chats WHERE id = ?`, chatID).Scan(&one) == nil {
					return desk.Errorf(desk.KindConflict, "This chat is already a ticket.")
				}
			}
			return err
		}
		t.ChatID = chatID
		_, err = db.exec(ctx, tx, `UPDATE mail_outbox SET ticket_id = ?,
			next_attempt_at = CASE WHEN next_attempt_at > ? THEN ? ELSE next_attempt_at END
			WHERE chat_id = ? AND ticket_id IS NULL AND status = 'pending'`, t.ID, micros(now), micros(now), chatID)
		return err
	})
}
