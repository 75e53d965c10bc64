package store

import (
	"context"
	"database/sql"
	"time"
)

// SQLite's full-text index (FTS5) is a set of b-tree segments: every write
// transaction that files a ticket adds one, and FTS5 merges them only once
// several pile up on a level, so an index that takes tickets all day sits
// in a dozen or more segments. Every search seeks each of its words in
// every segment: at a million tickets, searches on an index in 17 segments
// ran at half the rate of the same index in one (docs/PERFORMANCE.md).
// MergeSearchIndex brings the index back to one segment in small steps,
// and TidySearchIndex does so in the background when it pays.

// searchTidy holds TidySearchIndex's settings (see defaultSearchTidy).
type searchTidy struct {
	every time.Duration // how often the segments are counted
	idle  time.Duration // no write for this long before each step
	// patience: how long a merge waits for such lulls; past it, it steps
	// regardless and rests four times as long as each step took (zero:
	// it waits for lulls however long).
	patience    time.Duration
	minSegments int // merge from this many segments on
	pages       int // work per step, in FTS5 leaf pages
	// gap: after a merge that took w of writer time, the next one waits
	// gap×w, so that merging never takes more than about 1/gap of the
	// writer however fast tickets arrive.
	gap int
}

// SearchMergeFrom is the number of segments from which TidySearchIndex
// merges SQLite's search index.
const SearchMergeFrom = 3

var defaultSearchTidy = searchTidy{
	every:       10 * time.Second,
	idle:        time.Second,
	patience:    10 * time.Minute,
	minSegments: SearchMergeFrom,
	pages:       16,
	gap:         20,
}

// SearchSegments counts the segments of SQLite's full-text index (0 on
// PostgreSQL, whose index has none).
func (db *DB) SearchSegments(ctx context.Context) (int, error) {
	if db.dialect != SQLite {
		return 0, nil
	}
	// A skip scan over the shadow table that maps (segment, term) to
	// pages: one index probe per segment instead of a read of every row.
	var n int
	err := db.queryRow(ctx, `WITH RECURSIVE s(id) AS (
		SELECT min(segid) FROM tickets_fts_idx
		UNION ALL SELECT (SELECT min(segid) FROM tickets_fts_idx WHERE segid > s.id) FROM s WHERE s.id IS NOT NULL)
		SELECT count(id) FROM s`).Scan(&n)
	return n, db.wrap(err)
}

// SearchMerge reports one run of MergeSearchIndex.
type SearchMerge struct {
	Steps int           // write transactions
	Work  time.Duration // time from submitting each step to its commit (the rests and the waits for lulls excluded)
	Done  bool          // false if ctx ended it first
}

// MergeSearchIndex merges SQLite's full-text index into one segment (a
// no-op on PostgreSQL). Each step is a write transaction of its own that
// merges a few pages, so other writes wait for one step at most; before
// each step it waits until no other write has committed for idle (zero:
// never waits), and after each it rests as long as the step took, so that
// searches keep most of the machine. An unfinished merge is kept in the
// index and carried on by the next call (FTS5's own merges of new
// segments carry it on too). Searches see the same tickets throughout.
func (db *DB) MergeSearchIndex(ctx context.Context, idle time.Duration) (SearchMerge, error) {
	s := defaultSearchTidy
	s.idle, s.patience = idle, 0
	return db.mergeSearchIndex(ctx, s)
}

func (db *DB) mergeSearchIndex(ctx context.Context, s searchTidy) (SearchMerge, error) {
	var m SearchMerge
	if db.writes == nil {
		m.Done = true
		return m, nil
	}
	var deadline time.Time // for waiting for lulls
	if s.patience > 0 {
		deadline = time.Now().Add(s.patience)
	}
	for {
		impatient, err := db.waitWriterIdle(ctx, s.idle, deadline)
		if err != nil {
			return m, nil
		}
		// FTS5's 'merge' with a negative page count first gathers every
		// segment onto one level, so that they merge into one; later
		// steps pass a positive count, which carries the started merge
		// on without gathering segments added meanwhile (those would
		// restart it). A step that changes fewer than two rows (the
		// command counts as one) found nothing left to merge.
		n := s.pages
		if m.Steps == 0 {
			n = -s.pages
		}
		start := time.Now()
		var more bool
		// A step once begun is not interrupted: SQLite rolls back the
		// whole transaction of an interrupted write, and other callers'
		// writes may share it (see groupCommit). A step is short.
		sctx := context.WithoutCancel(ctx)
		err = db.inQuietTx(ctx, func(tx *sql.Tx) error {
			var before, after int64
			if err := tx.QueryRowContext(sctx, `SELECT total_changes()`).Scan(&before); err != nil {
				return err
			}
			if _, err := tx.ExecContext(sctx, `INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('merge', ?)`, n); err != nil {
				return err
			}
			if err := tx.QueryRowContext(sctx, `SELECT total_changes()`).Scan(&after); err != nil {
				return err
			}
			more = after-before >= 2
			return nil
		})
		took := time.Since(start)
		if err != nil {
			if ctx.Err() != nil {
				return m, nil
			}
			return m, err
		}
		m.Steps++
		m.Work += took
		if !more {
			m.Done = true
			return m, nil
		}
		// Positive steps also merge any level where FTS5's own merging
		// left several segments, which under steady writes may not end:
		// then stop once the index is down to what would not start a
		// merge (FTS5's merging of new segments finishes the rest).
		if impatient && m.Steps > 1 && s.minSegments > 0 {
			n, err := db.SearchSegments(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return m, nil
				}
				return m, err
			}
			if n < s.minSegments {
				m.Done = true
				return m, nil
			}
		}
		rest := took
		if impatient {
			rest = 4 * took
		}
		if err := sleep(ctx, rest); err != nil {
			return m, nil
		}
	}
}

// waitWriterIdle returns once no write other than the search index's
// merges has committed for idle, or reports that deadline (if not zero)
// has passed first, or returns ctx's error.
func (db *DB) waitWriterIdle(ctx context.Context, idle time.Duration, deadline time.Time) (late bool, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		since := sinceStart() - time.Duration(db.lastWrite.Load())
		if since >= idle {
			return false, nil
		}
		wait := idle - since
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return true, nil
			}
			wait = min(wait, left)
		}
		if err := sleep(ctx, wait); err != nil {
			return false, err
		}
	}
}

// processStart is when the process started, on the monotonic clock:
// sinceStart does not jump when the wall clock is set.
var processStart = time.Now()

func sinceStart() time.Duration { return time.Since(processStart) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TidySearchIndex keeps SQLite's full-text index in few segments until ctx
// ends (it returns at once on PostgreSQL, whose GIN index has no
// segments). It counts the segments every 10 seconds and merges them
// (into one, unless writes never pause) from three on, in steps taken
// after a second without writes (a desk busy without a pause is not
// slowed; its index is merged at the first lull). A merge that has found no lull for ten minutes steps anyway,
// resting four times as long as each step took, and writes may then wait
// for a step. A merge rewrites the whole index (about 5 s of work at a
// million tickets), so the next one waits twenty times as long as the
// last one worked.
func (db *DB) TidySearchIndex(ctx context.Context) {
	db.tidySearchIndex(ctx, defaultSearchTidy)
}

func (db *DB) tidySearchIndex(ctx context.Context, s searchTidy) {
	if db.writes == nil {
		return
	}
	var next time.Time
	for sleep(ctx, s.every) == nil {
		if time.Now().Before(next) {
			continue
		}
		n, err := db.SearchSegments(ctx)
		if err != nil {
			if ctx.Err() == nil {
				db.log.Warn("search index: counting segments failed", "err", err)
			}
			continue
		}
		if n < s.minSegments {
			continue
		}
		m, err := db.mergeSearchIndex(ctx, s)
		if err != nil {
			db.log.Warn("search index: merge failed", "segments", n, "steps", m.Steps, "err", err)
			next = time.Now().Add(time.Duration(s.gap) * max(m.Work, s.every))
			continue
		}
		next = time.Now().Add(time.Duration(s.gap) * m.Work)
		if !m.Done {
			continue // ctx ended
		}
		after, err := db.SearchSegments(ctx)
		if err != nil {
			continue
		}
		if after >= n {
			// Nothing gained (FTS5 found nothing to merge, or writes
			// meanwhile added as many segments): try again later rather
			// than every few seconds.
			next = time.Now().Add(time.Duration(s.gap) * max(m.Work, s.every))
			db.log.Debug("search index: merge made no progress", "segments", n, "steps", m.Steps)
			continue
		}
		db.log.Info("search index merged", "segments_before", n, "segments_after", after, "steps", m.Steps,
			"work", m.Work.Round(time.Millisecond), "next_after", next.Format(time.RFC3339))
	}
}
