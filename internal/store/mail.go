package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/desk"
)

// enqueueMail writes mails to the outbox inside tx, so that they commit or
// roll back with the change they report. When ticketID is not 0 (the ticket
// the transaction created or changed) every mail is about it.
func (db *DB) enqueueMail(ctx context.Context, tx *sql.Tx, ticketID int64, now time.Time, mails []desk.Mail) error {
	for i := range mails {
		m := &mails[i]
		if ticketID != 0 {
			m.TicketID = ticketID
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = m.CreatedAt
		}
		m.Status, m.Attempts = desk.MailPending, 0
		err := db.txRow(ctx, tx, `INSERT INTO mail_outbox
			(notice, user_id, address, ticket_id, chat_id, data, status, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`,
			string(m.Notice), m.UserID, m.To, nullInt(m.TicketID), nullInt(m.ChatID), string(m.Data),
			micros(m.NextAttemptAt), micros(m.CreatedAt)).Scan(&m.ID)
		if err != nil {
			return err
		}
	}
	return nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

const mailColumns = `id, notice, user_id, address, ticket_id, chat_id, data, status, attempts, next_attempt_at, last_error, created_at, sent_at`

func scanMail(row interface{ Scan(...any) error }) (*desk.Mail, error) {
	var m desk.Mail
	var notice, status, data string
	var ticket, chat, sent sql.NullInt64
	var next, created int64
	if err := row.Scan(&m.ID, &notice, &m.UserID, &m.To, &ticket, &chat, &data, &status, &m.Attempts, &next,
		&m.LastError, &created, &sent); err != nil {
		return nil, err
	}
	m.Notice, m.Status, m.Data = desk.Notice(notice), desk.MailStatus(status), []byte(data)
	m.TicketID, m.ChatID = ticket.Int64, chat.Int64
	m.NextAttemptAt, m.CreatedAt = fromMicros(next), fromMicros(created)
	if sent.Valid {
		m.SentAt = fromMicros(sent.Int64)
	}
	return &m, nil
}

// EnqueueMail writes mails to the outbox on their own, for notices that
// report no stored change. It sets their IDs.
func (db *DB) EnqueueMail(ctx context.Context, now time.Time, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.enqueueMail(ctx, tx, 0, now, mails) })
}

// ClaimMail leases up to limit pending mails that are due at now to the
// caller until now+lease, counts an attempt on each and returns them,
// oldest due first. Concurrent callers never get the same mail while its
// lease runs: PostgreSQL skips rows another transaction has locked, SQLite
// has a single writer. A mail whose lease ran out (its worker died) is due
// again.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]desk.Mail, error) {
	pick := `SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
		ORDER BY next_attempt_at, id LIMIT ?`
	if db.dialect == Postgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	var out []desk.Mail
	err := db.inQuietTx(ctx, func(tx *sql.Tx) error { // quiet: see SettleMails
		out = out[:0]
		rows, err := db.txQuery(ctx, tx, `UPDATE mail_outbox SET lease_until = ?, attempts = attempts + 1
			WHERE id IN (`+pick+`) RETURNING `+mailColumns, micros(now.Add(lease)), micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order.
	slices.SortFunc(out, func(a, b desk.Mail) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// MailOutcome is how one claimed attempt at a mail ended.
type MailOutcome struct {
	ID       int64
	Attempts int             // the mail's Attempts as claimed: settles that claim only
	Status   desk.MailStatus // sent, failed, or pending to retry at Next
	Next     time.Time
	Error    string // the reason for a retry or failure
	At       time.Time
}

// SettleMail records how a claimed attempt ended and releases the lease. It
// returns KindConflict when the mail is no longer in that claim (its lease
// ran out and another worker claimed it): the other worker settles it.
func (db *DB) SettleMail(ctx context.Context, o MailOutcome) error {
	lost, err := db.SettleMails(ctx, []MailOutcome{o})
	if err == nil && len(lost) > 0 {
		err = desk.Errorf(desk.KindConflict, "The mail was claimed again.")
	}
	return err
}

// SettleMails records several outcomes in one transaction (one commit for a
// batch of mail instead of one per mail). It returns the IDs of the mails
// no longer in the claim an outcome settles (their lease ran out and
// another worker claimed them, and settles them); the other outcomes are
// recorded.
//
// Like ClaimMail it is a quiet write: the outbox is nothing a cached page
// shows, and a worker sending a backlog of mail should neither empty the
// cached ticket lists at every commit nor hold back the search index's
// merges.
func (db *DB) SettleMails(ctx context.Context, outcomes []MailOutcome) (lost []int64, err error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	err = db.inQuietTx(ctx, func(tx *sql.Tx) error {
		lost = lost[:0]
		for _, o := range outcomes {
			var sent any
			if o.Status == desk.MailSent {
				sent = micros(o.At)
			}
			next := o.Next
			if next.IsZero() {
				next = o.At
			}
			errText := o.Error
			if len(errText) > 2000 {
				errText = errText[:2000]
			}
			res, err := db.exec(ctx, tx, `UPDATE mail_outbox SET status = ?, next_attempt_at = ?, lease_until = 0,
				last_error = ?, sent_at = ? WHERE id = ? AND attempts = ? AND status = 'pending'`,
				string(o.Status), micros(next), strings.ToValidUTF8(errText, "?"), sent, o.ID, o.Attempts)
			if err := notFoundIfNone(res, err); desk.IsKind(err, desk.KindNotFound) {
				lost = append(lost, o.ID)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// RetryMail puts a failed mail back in the queue, due at now, with its
// attempts reset. A mail that is not failed is KindConflict; a missing one
// KindNotFound.
func (db *DB) RetryMail(ctx context.Context, id int64, now time.Time) (*desk.Mail, error) {
	var m *desk.Mail
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,
			lease_until = 0 WHERE id = ? AND status = 'failed'`, micros(now), id)
		if err := notFoundIfNone(res, err); err != nil {
			if desk.IsKind(err, desk.KindNotFound) {
				if _, err := scanMail(db.txRow(ctx, tx, `SELECT `+mailColumns+` FROM mail_outbox WHERE id = ?`, id)); err == nil {
					return desk.Errorf(desk.KindConflict, "Only a failed mail can be retried.")
				}
			}
			return err
		}
		m, err = scanMail(db.txRow(ctx, tx, `SELECT `+mailColumns+` FROM mail_outbox WHERE id = ?`, id))
		return err
	})
	return m, err
}

// MailByID returns one outbox mail, or KindNotFound.
func (db *DB) MailByID(ctx context.Context, id int64) (*desk.Mail, error) {
	m, err := scanMail(db.r.QueryRowContext(ctx, db.q(`SELECT `+mailColumns+` FROM mail_outbox WHERE id = ?`), id))
	return m, db.wrap(err)
}

// MailFilter selects outbox mails, newest first.
type MailFilter struct {
	Status desk.MailStatus // empty: any
	Limit  int             // default 50, at most 200
	Offset int
}

// Mails returns one page of the outbox and how many mails match.
func (db *DB) Mails(ctx context.Context, f MailFilter) ([]desk.Mail, int, error) {
	where, args := "", []any{}
	if f.Status != "" {
		where, args = ` WHERE status = ?`, append(args, string(f.Status))
	}
	var total int
	if err := db.r.QueryRowContext(ctx, db.q(`SELECT count(*) FROM mail_outbox`+where), args...).Scan(&total); err != nil {
		return nil, 0, db.wrap(err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT `+mailColumns+` FROM mail_outbox`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`),
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, db.wrap(err)
	}
	defer rows.Close()
	out := []desk.Mail{}
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, 0, db.wrap(err)
		}
		out = append(out, *m)
	}
	return out, total, db.wrap(rows.Err())
}

// deleteSentMail deletes one chunk of mails sent before ?, found through
// index mail_outbox_sent (so that it reads only the mails it deletes).
var deleteSentMail = `DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox
	WHERE status = 'sent' AND sent_at < ? LIMIT ` + strconv.Itoa(sentMailChunk) + `)`

// sentMailChunk is how many mails one purge transaction deletes at most:
// a purge shares its commit with other writes, and on SQLite the pages its
// savepoint may have to restore are held in memory.
const sentMailChunk = 1000

// DeleteSentMail removes mails sent before the given time and returns how
// many it removed. Failed and pending mails are kept.
func (db *DB) DeleteSentMail(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			res, err := db.exec(ctx, tx, deleteSentMail, micros(before))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil || n < sentMailChunk {
			return total, err
		}
	}
}

// MailOptOuts returns, of userIDs, those who turned notice off.
func (db *DB) MailOptOuts(ctx context.Context, notice desk.Notice, userIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := []any{string(notice)}
	for _, id := range userIDs {
		args = append(args, id)
	}
	// Through the statement cache: the text is the same while the number
	// of admins is.
	rows, err := db.query(ctx, `SELECT user_id FROM mail_optouts WHERE notice = ? AND user_id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(userIDs)), ",")+`)`, args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.wrap(err)
		}
		out[id] = true
	}
	return out, db.wrap(rows.Err())
}

// UserOptOuts returns the notices userID turned off.
func (db *DB) UserOptOuts(ctx context.Context, userID int64) (map[desk.Notice]bool, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT notice FROM mail_optouts WHERE user_id = ?`), userID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	out := map[desk.Notice]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, db.wrap(err)
		}
		out[desk.Notice(n)] = true
	}
	return out, db.wrap(rows.Err())
}

// SetOptOuts turns notices off (true) or back on (false) for userID, in
// one transaction; a missing user is KindNotFound.
func (db *DB) SetOptOuts(ctx context.Context, userID int64, off map[desk.Notice]bool, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := db.txRow(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
			return err
		}
		for n, o := range off {
			q := `DELETE FROM mail_optouts WHERE user_id = ? AND notice = ?`
			args := []any{userID, string(n)}
			if o {
				q = `INSERT INTO mail_optouts (user_id, notice, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
				args = append(args, micros(now))
			}
			if _, err := db.exec(ctx, tx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}
