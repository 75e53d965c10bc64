package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// TestCommitGroupVersion checks what a group of writes does to the write
// version and to the time of the last write: quiet writes (the search
// index's merge steps) move neither, alone or together; a group in which a
// loud write stands moves both once, whatever quiet writes share it; a loud
// write that failed and was rolled back moves nothing. The groups are
// handed to commitGroup directly, so that their make-up does not depend on
// how writers happen to queue; nothing else writes meanwhile, so the
// writer connection is free.
func TestCommitGroupVersion(t *testing.T) {
	t.Parallel()
	db := openOneReader(t)
	ctx := context.Background()
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE probe (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	insert := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO probe (n) VALUES (1)`)
		return err
	}
	fail := func(tx *sql.Tx) error {
		if err := insert(tx); err != nil {
			return err
		}
		return errors.New("refused")
	}
	type spec struct{ quiet, fails bool }
	quiet, loud, failedLoud := spec{quiet: true}, spec{}, spec{fails: true}
	rows := func() int {
		var n int
		if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM probe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		batch []spec
		moves bool
		rows  int // rows the group adds
	}{
		{"one quiet write", []spec{quiet}, false, 1},
		{"two quiet writes", []spec{quiet, quiet}, false, 2},
		{"quiet then loud", []spec{quiet, loud}, true, 2},
		{"loud then quiet", []spec{loud, quiet}, true, 2},
		{"failed loud with quiet", []spec{failedLoud, quiet}, false, 1},
		{"one failed loud", []spec{failedLoud}, false, 0},
		{"one loud", []spec{loud}, true, 1},
	} {
		batch := make([]*write, len(tc.batch))
		for i, s := range tc.batch {
			fn := insert
			if s.fails {
				fn = fail
			}
			batch[i] = &write{ctx: ctx, fn: fn, quiet: s.quiet, done: make(chan error, 1)}
		}
		v0, last0, n0 := db.writeVersion.Load(), db.lastWrite.Load(), rows()
		db.commitGroup(batch)
		for i, w := range batch {
			if err := <-w.done; (err != nil) != tc.batch[i].fails {
				t.Errorf("%s: write %d answered %v", tc.name, i, err)
			}
		}
		v1, last1, n1 := db.writeVersion.Load(), db.lastWrite.Load(), rows()
		if n1-n0 != tc.rows {
			t.Errorf("%s: %d rows added, want %d", tc.name, n1-n0, tc.rows)
		}
		switch {
		case tc.moves && (v1 != v0+1 || last1 <= last0):
			t.Errorf("%s: version %d → %d, last write %d → %d: want the version up by one and the last write later", tc.name, v0, v1, last0, last1)
		case !tc.moves && (v1 != v0 || last1 != last0):
			t.Errorf("%s: version %d → %d, last write %d → %d: want neither to move", tc.name, v0, v1, last0, last1)
		}
	}
}
