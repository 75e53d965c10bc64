package store

import (
	"context"
	"database/sql"
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
