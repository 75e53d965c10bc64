package store

import (
	"context"
	"database/sql"
)

// Setting returns the value stored under key, or a KindNotFound error.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, db.wrap(err)
}

// EnsureSetting stores value under key unless the key already has one, and
// returns the value in force. Concurrent callers (several instances starting
// at once) all get the same, first-written value.
func (db *DB) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	var v string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return db.txRow(ctx, tx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	})
	return v, err
}

// PutSetting stores value under key, replacing any previous value.
func (db *DB) PutSetting(ctx context.Context, key, value string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}
