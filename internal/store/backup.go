package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3/driver"
)

// Counts are the sizes of the main tables, recorded in backup manifests
// and compared after a restore.
type Counts struct {
	Users       int64 `json:"users"`
	Tickets     int64 `json:"tickets"`
	Comments    int64 `json:"comments"`
	Attachments int64 `json:"attachments"`
}

// rowsQueryer is a queryer that can also return many rows (*sql.DB, *sql.Tx).
type rowsQueryer interface {
	queryer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func counts(ctx context.Context, q queryer) (Counts, error) {
	var c Counts
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tickets),
		(SELECT count(*) FROM comments), (SELECT count(*) FROM attachments)`).Scan(&c.Users, &c.Tickets, &c.Comments, &c.Attachments)
	return c, err
}

func attachmentKeys(ctx context.Context, q rowsQueryer, fn func(key string) error) error {
	rows, err := q.QueryContext(ctx, `SELECT blob_key FROM attachments ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Counts returns the sizes of the main tables.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	c, err := counts(ctx, db.r)
	return c, db.wrap(err)
}

// SnapshotSQLite writes a consistent copy of the SQLite database to path,
// which must not exist, while other connections (a running server) go on
// reading and writing: VACUUM INTO reads inside one transaction and takes
// no write lock. Upload reservations are left out of the copy: a restored
// database owns exactly the attachments its rows reference. It fails on
// PostgreSQL.
func (db *DB) SnapshotSQLite(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return errors.New("store: SnapshotSQLite needs SQLite")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: snapshot %s already exists", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	// A connection of its own: the read pool is query_only, and the writer
	// must stay free for the server's own writes when they share a process.
	src, err := driver.Open(sqliteURI(db.path) + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		return fmt.Errorf("snapshot the database: %w", err)
	}
	snap, err := driver.Open(sqliteURI(abs) + "?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer snap.Close()
	if _, err := snap.ExecContext(ctx, `DELETE FROM blob_intents`); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return snap.Close()
}

func sqliteURI(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

// PGSnapshot is a read-only, repeatable-read transaction on PostgreSQL
// whose snapshot is exported, so that pg_dump (--snapshot=ID) sees exactly
// the data its methods read. Close it once pg_dump has finished.
type PGSnapshot struct {
	ID     string // for pg_dump --snapshot
	Schema string // the schema TicketFlow's tables live in
	conn   *sql.Conn
	tx     *sql.Tx
}

// ExportSnapshot begins a PGSnapshot. It fails on SQLite.
func (db *DB) ExportSnapshot(ctx context.Context) (*PGSnapshot, error) {
	if db.dialect != Postgres {
		return nil, errors.New("store: ExportSnapshot needs PostgreSQL")
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, db.wrap(err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		conn.Close()
		return nil, db.wrap(err)
	}
	s := &PGSnapshot{conn: conn, tx: tx}
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot(), current_schema()`).Scan(&s.ID, &s.Schema); err != nil {
		s.Close()
		return nil, db.wrap(err)
	}
	return s, nil
}

// Counts returns the sizes of the main tables as of the snapshot.
func (s *PGSnapshot) Counts(ctx context.Context) (Counts, error) { return counts(ctx, s.tx) }

// AttachmentKeys calls fn with the blob key of every attachment in the
// snapshot.
func (s *PGSnapshot) AttachmentKeys(ctx context.Context, fn func(key string) error) error {
	return attachmentKeys(ctx, s.tx, fn)
}

// Close ends the snapshot's transaction.
func (s *PGSnapshot) Close() error {
	err := s.tx.Rollback()
	return errors.Join(err, s.conn.Close())
}

// TablesIn returns how many tables PostgreSQL schema holds (0 if it does not
// exist); restores refuse a target that already has some. It fails on SQLite.
func (db *DB) TablesIn(ctx context.Context, schema string) (int, error) {
	if db.dialect != Postgres {
		return 0, errors.New("store: TablesIn needs PostgreSQL")
	}
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&n)
	return n, db.wrap(err)
}

// LatestSchemaVersion returns the newest migration this build knows for a
// dialect: a database (or backup) at a higher version was written by a
// newer TicketFlow.
func LatestSchemaVersion(d Dialect) (int64, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+d.String())
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		digits, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseInt(digits, 10, 64); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}
