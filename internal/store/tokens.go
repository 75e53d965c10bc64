package store

import (
	"context"
	"database/sql"
	"time"

	"ticketflow/internal/desk"
)

// RefreshToken is one link of a refresh-token family: each use rotates it to
// a new token of the same family. Only the SHA-256 of the token is stored.
type RefreshToken struct {
	IDHash    []byte
	Family    string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrRefreshInvalid is returned for an unknown, expired or revoked refresh token.
var ErrRefreshInvalid = &desk.Error{Kind: desk.KindUnauthenticated, Message: "Token is invalid or expired."}

// ErrRefreshReused is returned when an already-rotated refresh token is
// presented again; the whole family has been revoked by then.
var ErrRefreshReused = &desk.Error{Kind: desk.KindUnauthenticated, Message: "Token is invalid or expired."}

// CreateRefreshToken stores t as the first token of a family (login).
func (db *DB) CreateRefreshToken(ctx context.Context, t RefreshToken) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertRefresh(ctx, tx, t) })
}

func (db *DB) insertRefresh(ctx context.Context, tx *sql.Tx, t RefreshToken) error {
	_, err := db.exec(ctx, tx, `INSERT INTO refresh_tokens (id_hash, family, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, t.IDHash, t.Family, t.UserID, micros(t.CreatedAt), micros(t.ExpiresAt))
	return err
}

// RotateRefreshToken marks the token with oldHash used and stores next in its
// family, atomically. next.Family and next.UserID are filled in from the old
// token. A token that was already used revokes its whole family (a stolen
// token was replayed) and returns ErrRefreshReused; an unknown, expired or
// revoked one returns ErrRefreshInvalid.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash []byte, next *RefreshToken, now time.Time) error {
	reused := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var family string
		var userID, expires int64
		var used, revoked sql.NullInt64
		err := db.txRow(ctx, tx, `SELECT family, user_id, expires_at, used_at, revoked_at
			FROM refresh_tokens WHERE id_hash = ?`, oldHash).Scan(&family, &userID, &expires, &used, &revoked)
		if err == sql.ErrNoRows {
			return ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		if revoked.Valid || expires <= micros(now) {
			return ErrRefreshInvalid
		}
		if used.Valid {
			reused = true
			_, err := db.exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`,
				micros(now), family)
			return err
		}
		res, err := db.exec(ctx, tx, `UPDATE refresh_tokens SET used_at = ? WHERE id_hash = ? AND used_at IS NULL`,
			micros(now), oldHash)
		if err := notFoundIfNone(res, err); err != nil {
			if desk.IsKind(err, desk.KindNotFound) {
				return ErrRefreshInvalid
			}
			return err
		}
		next.Family, next.UserID = family, userID
		return db.insertRefresh(ctx, tx, *next)
	})
	if reused && err == nil {
		return ErrRefreshReused
	}
	return err
}

// RevokeRefreshFamily revokes the family of the token with that hash (logout).
// An unknown token returns ErrRefreshInvalid; userID, when non-zero, must own it.
func (db *DB) RevokeRefreshFamily(ctx context.Context, idHash []byte, userID int64, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var family string
		var owner int64
		err := db.txRow(ctx, tx, `SELECT family, user_id FROM refresh_tokens WHERE id_hash = ?`, idHash).Scan(&family, &owner)
		if err == sql.ErrNoRows || (err == nil && userID != 0 && owner != userID) {
			return ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`,
			micros(now), family)
		return err
	})
}

// RevokeUserRefreshTokens revokes every refresh token of a user.
func (db *DB) RevokeUserRefreshTokens(ctx context.Context, userID int64, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
			micros(now), userID)
		return err
	})
}
