package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"
)

// SQLite's full-text index (FTS5) is a set of b-tree segments: every write
// transaction that files a ticket adds one, and FTS5 merges them only once
// several pile up on a level, so an index that takes tickets all day sits
// in a dozen or more segments. Every search seeks each of its words in
// every segment: at a million tickets, searches on an index in 17 segments
// ran at half the rate of the same index in one (docs/PERFORMANCE.md).
// MergeSearchIndex brings the index back to one segment in small steps,
// and TidySearchIndex does so in the background when it pays, compacting
// the small segments of a desk that never pauses in between.

// searchStructure reads FTS5's structure record (its rowid is 10; NULL if
// FTS5 has not written one), which lists the index's levels and segments
// and the state of a started merge: a merge step that did any work
// rewrote it.
const searchStructure = `SELECT (SELECT block FROM tickets_fts_data WHERE id = 10)`

// errStructure reports an FTS5 structure record that could not be read.
var errStructure = errors.New("store: unreadable full-text index structure record")

// structureMerging reports whether FTS5's structure record (see
// searchStructure) has a level with a merge in progress. The record, as
// fts5StructureDecode in SQLite's fts5_index.c reads it: a 4-byte cookie,
// an optional 4-byte version-2 marker, varints for the number of levels,
// of segments and a write counter, then per level the number of segments
// being merged and of segments, and per segment three varints (eight in
// version 2).
func structureMerging(b []byte) (bool, error) {
	if len(b) < 4 {
		return false, errStructure
	}
	b = b[4:]
	perSegment := uint64(3)
	if len(b) >= 4 && b[0] == 0xff && b[1] == 0 && b[2] == 0 && b[3] == 1 {
		b, perSegment = b[4:], 8
	}
	bad := false
	next := func() uint64 {
		v, n := sqliteVarint(b)
		if n == 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	levels := next()
	next() // segments
	next() // write counter
	for l := uint64(0); l < levels && !bad; l++ {
		merging, segs := next(), next()
		if bad {
			break
		}
		if merging > 0 {
			return true, nil
		}
		for i := uint64(0); i < segs*perSegment && !bad; i++ {
			next()
		}
	}
	if bad {
		return false, errStructure
	}
	return false, nil
}

// sqliteVarint decodes one of SQLite's variable-length integers (big-endian,
// seven bits a byte, the ninth byte whole) and returns it with its length,
// or a length of zero if b ends first.
func sqliteVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b); i++ {
		if i == 8 {
			return v<<8 | uint64(b[8]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// searchTidy holds TidySearchIndex's settings (see defaultSearchTidy).
type searchTidy struct {
	every time.Duration // how often the segments are counted
	// idle: a merge into one segment starts only after this long without
	// a write; while writes come closer together than this, the index is
	// compacted instead, and merge steps rest four times as long as they
	// took (once as long otherwise).
	idle time.Duration
	// patience: how long the index may wait for a lull (compacted
	// meanwhile) before it is merged into one regardless, between writes
	// (zero: it waits however long).
	patience    time.Duration
	minSegments int // merge or compact from this many segments on
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
// merges a few pages, so other writes wait for one step at most. Before
// its first step it waits until no other write has committed for idle
// (zero: never waits); after each it rests as long as the step took (four
// times as long while writes come closer together than idle), so that
// searches and writes keep most of the machine. An unfinished merge is
// kept in the index and carried on by the next call (FTS5's own merges of
// new segments carry it on too). Searches see the same tickets throughout.
func (db *DB) MergeSearchIndex(ctx context.Context, idle time.Duration) (SearchMerge, error) {
	s := defaultSearchTidy
	s.idle = idle
	return db.mergeSearchIndex(ctx, s, false)
}

// compactSearchIndex merges, without waiting for a lull, every level of
// the index that holds two segments or more (FTS5's 'usermerge' is 2, see
// migration 00007): the small segments that writes add beside the big one
// come down to about one per level, in a few milliseconds of work at a
// million tickets. Once in a while (each time the merged small segments
// reach the big one's level, at ever longer intervals) the compaction
// rewrites the big one too, as a merge would.
func (db *DB) compactSearchIndex(ctx context.Context, s searchTidy) (SearchMerge, error) {
	return db.mergeSearchIndex(ctx, s, true)
}

func (db *DB) mergeSearchIndex(ctx context.Context, s searchTidy, compact bool) (SearchMerge, error) {
	var m SearchMerge
	if db.writes == nil {
		m.Done = true
		return m, nil
	}
	began, from := time.Now(), 0 // from: segments when a compaction began
	if !compact {
		if err := db.waitWriterIdle(ctx, s.idle); err != nil {
			return m, nil
		}
	} else if s.minSegments > 0 {
		n, err := db.SearchSegments(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return m, nil
			}
			return m, err
		}
		from = n
	}
	for {
		// FTS5's 'merge' with a negative page count first gathers every
		// segment onto one level, so that they merge into one; later
		// steps (and every step of a compaction) pass a positive count,
		// which carries a started merge on without gathering segments
		// added meanwhile (those would restart it), then merges any level
		// holding 'usermerge' segments. A step that leaves the index's
		// structure record as it was found nothing to merge.
		n := s.pages
		if m.Steps == 0 && !compact {
			n = -s.pages
		}
		start := time.Now()
		var more, merging bool
		// A step once begun is not interrupted: SQLite rolls back the
		// whole transaction of an interrupted write, and other callers'
		// writes may share it (see groupCommit). A step is short.
		sctx := context.WithoutCancel(ctx)
		err := db.inQuietTx(ctx, func(tx *sql.Tx) error {
			var before, after []byte
			if err := tx.QueryRowContext(sctx, searchStructure).Scan(&before); err != nil {
				return err
			}
			if _, err := tx.ExecContext(sctx, `INSERT INTO tickets_fts (tickets_fts, rank) VALUES ('merge', ?)`, n); err != nil {
				return err
			}
			if err := tx.QueryRowContext(sctx, searchStructure).Scan(&after); err != nil {
				return err
			}
			more = !bytes.Equal(before, after)
			if more && !compact {
				var err error
				merging, err = structureMerging(after)
				return err
			}
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
		// A merge is done once the merge its first step gathered has
		// ended: under steady writes, positive steps would otherwise go
		// on merging the segments that keep arriving.
		if !more || (!compact && !merging) {
			m.Done = true
			return m, nil
		}
		// While tickets keep coming, positive steps would go on merging
		// the segments they add: stop once the index is down to what
		// would not start a merge (FTS5's merging of new segments, and
		// the next merge, finish the rest). A compaction also stops once
		// it has halved the segments it found, and after running for as
		// long as the tidying interval: a merge into the big segment that
		// it has begun is carried on by the next one.
		busy := db.writtenWithin(s.idle)
		if busy && (m.Steps > 1 || compact) && s.minSegments > 0 {
			n, err := db.SearchSegments(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return m, nil
				}
				return m, err
			}
			if n < s.minSegments || (compact && (2*n <= from || (s.every > 0 && time.Since(began) >= s.every))) {
				m.Done = true
				return m, nil
			}
		}
		rest := took
		if busy {
			rest = 4 * took
		}
		if err := sleep(ctx, rest); err != nil {
			return m, nil
		}
	}
}

// writtenWithin reports whether a write other than a quiet one (the search
// index's merges, the mail outbox's bookkeeping) has committed within d.
func (db *DB) writtenWithin(d time.Duration) bool {
	return sinceStart()-time.Duration(db.lastWrite.Load()) < d
}

// waitWriterIdle returns once no write other than a quiet one (see
// inQuietTx) has committed for idle, or returns ctx's error.
func (db *DB) waitWriterIdle(ctx context.Context, idle time.Duration) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		since := sinceStart() - time.Duration(db.lastWrite.Load())
		if since >= idle {
			return nil
		}
		if err := sleep(ctx, idle-since); err != nil {
			return err
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
// segments). It counts the segments every 10 seconds, and from three on
// merges them into one if no write has committed for a second, or else
// compacts them without waiting (see compactSearchIndex), so that a desk
// busy without a pause keeps its index in a few segments and gets it
// merged into one at its first lull. An index that has waited ten minutes
// for a lull is merged between writes. A merge rewrites the whole index
// (about 5 s of work at a million tickets), so the next one waits twenty
// times as long as the last one worked (the index is compacted meanwhile),
// and a compaction four times as long as the last one.
func (db *DB) TidySearchIndex(ctx context.Context) {
	db.tidySearchIndex(ctx, defaultSearchTidy)
}

func (db *DB) tidySearchIndex(ctx context.Context, s searchTidy) {
	if db.writes == nil {
		return
	}
	// nextMerge: a merge waits gap times the last one's work. nextCompact:
	// a compaction waits four times the last one's work (a few
	// milliseconds, unless it merged into the big segment).
	var nextMerge, nextCompact time.Time
	var waiting time.Time // since when the index has waited for a merge
	for sleep(ctx, s.every) == nil {
		now := time.Now()
		if now.Before(nextMerge) && now.Before(nextCompact) {
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
			waiting = time.Time{}
			continue
		}
		if waiting.IsZero() {
			waiting = now
		}
		run, compact := s, db.writtenWithin(s.idle)
		if compact && s.patience > 0 && now.Sub(waiting) >= s.patience {
			compact, run.idle = false, 0 // merge between writes
		}
		if !compact && now.Before(nextMerge) {
			compact = true // too soon for a merge
		}
		if compact && now.Before(nextCompact) {
			continue
		}
		what, factor, next := "merge", time.Duration(s.gap), &nextMerge
		if compact {
			what, factor, next = "compaction", 4, &nextCompact
		}
		m, err := db.mergeSearchIndex(ctx, run, compact)
		if err != nil {
			db.log.Warn("search index: "+what+" failed", "segments", n, "steps", m.Steps, "err", err)
			*next = time.Now().Add(factor * max(m.Work, s.every))
			continue
		}
		*next = time.Now().Add(factor * m.Work)
		if !m.Done {
			continue // ctx ended
		}
		if !compact {
			waiting = time.Time{}
		}
		after, err := db.SearchSegments(ctx)
		if err != nil {
			continue
		}
		if after >= n {
			// Nothing gained (FTS5 found nothing to merge, or writes
			// meanwhile added as many segments): try a merge again later
			// rather than every few seconds. A compaction that finds
			// nothing (one segment per level) costs one short step.
			if !compact {
				nextMerge = time.Now().Add(factor * max(m.Work, s.every))
			}
			db.log.Debug("search index: "+what+" made no progress", "segments", n, "steps", m.Steps)
			continue
		}
		attrs := []any{"segments_before", n, "segments_after", after, "steps", m.Steps, "work", m.Work.Round(time.Millisecond)}
		if !compact {
			db.log.Info("search index merged", append(attrs, "next_after", nextMerge.Format(time.RFC3339))...)
		} else if m.Work >= time.Second {
			db.log.Info("search index compacted", attrs...)
		} else {
			db.log.Debug("search index compacted", attrs...) // every few seconds on a busy desk
		}
	}
}
