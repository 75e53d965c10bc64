package store

import (
	"context"
	"database/sql"
	"time"

	"ticketflow/internal/desk"
)

// Session is a browser login. Only the SHA-256 of the cookie value is stored,
// so a leaked database does not leak usable sessions.
type Session struct {
	IDHash    []byte
	UserID    int64
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	UserAgent string
	IP        string
}

// CreateSession stores s.
func (db *DB) CreateSession(ctx context.Context, s Session) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, user_agent, ip)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, s.CSRFToken, micros(s.CreatedAt), micros(s.ExpiresAt), s.UserAgent, s.IP)
		return err
	})
}

// SessionUser returns the unexpired session with that hash and its user, or a
// KindNotFound error.
func (db *DB) SessionUser(ctx context.Context, idHash []byte, now time.Time) (*Session, *desk.User, error) {
	var s Session
	var created, expires int64
	row := db.queryRow(ctx, `SELECT s.csrf_token, s.created_at, s.expires_at,
		u.id, u.email, u.username, u.password_hash, u.role, u.is_active, u.token_version, u.date_joined, u.updated_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`, idHash, micros(now))
	var u desk.User
	var role string
	var joined, updated int64
	err := row.Scan(&s.CSRFToken, &created, &expires, &u.ID, &u.Email, &u.Username, &u.PasswordHash, &role,
		&u.Active, &u.TokenVersion, &joined, &updated)
	if err != nil {
		return nil, nil, db.wrap(err)
	}
	u.Role = desk.Role(role)
	u.DateJoined, u.UpdatedAt = fromMicros(joined), fromMicros(updated)
	s.IDHash, s.UserID, s.CreatedAt, s.ExpiresAt = idHash, u.ID, fromMicros(created), fromMicros(expires)
	return &s, &u, nil
}

// DeleteSession removes one session; removing a missing one is not an error.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
		return err
	})
}

// DeleteUserSessions removes every session of a user.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
}

// DeleteExpired removes expired sessions and refresh tokens.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `DELETE FROM refresh_tokens WHERE expires_at <= ?`, micros(now))
		return err
	})
}
