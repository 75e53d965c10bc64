package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"ticketflow/internal/desk"
)

// The ticket list and detail are TicketFlow's hottest reads. On SQLite they
// run below database/sql, on connections of their own (readPool): database/sql
// copies every column into an interface (allocating for each integer and
// string) and converts it again in Scan. A first page of 21 rows at 1M
// tickets took 74 µs through database/sql and 49 µs read straight from the
// statement (BenchmarkQueries in bench_test.go measures the whole calls).

// readPool holds the connections rawQuery reads on, apart from
// database/sql's read pool. Each keeps its prepared statements and, between
// reads, the read transaction (the snapshot) its last read began: beginning
// and ending one for every read (taking and releasing a WAL read lock with
// fcntl calls, reading the WAL index) cost about a tenth of a ticket
// detail's server CPU (docs/PERFORMANCE.md). The reads of one request, a
// ticket and its attachments say, see one state when they share a snapshot.
//
// A snapshot is given up, before the next read on the connection, once
// this process has committed a write since it began (see WriteVersion),
// so that a read sees every write answered before it. A write by another
// process (a command run beside the server) is seen within maxSnapshotAge,
// or at once by a read under FreshReads.
// The reaper ends the snapshots of idle connections as old as that, so
// that they do not keep the WAL from being checkpointed and reset.
type readPool struct {
	open    func() (*sqlite3.Conn, error)
	version func() uint64
	maxAge  time.Duration // maxSnapshotAge but in tests
	idle    chan *readConn
	slots   chan struct{} // one per open connection
	done    chan struct{} // closed by close: the reaper stops
	reaped  chan struct{} // closed when the reaper has stopped
}

// maxSnapshotAge bounds how long a read connection keeps one snapshot.
const maxSnapshotAge = 100 * time.Millisecond

type freshKey struct{}

// FreshReads returns a context under which reads see every write committed
// so far, by this process or another: a forced reload asks for that.
func FreshReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

// readConn is one connection of a readPool, used by one goroutine at a
// time.
type readConn struct {
	c       *sqlite3.Conn
	stmts   map[string]*sqlite3.Stmt
	begin   *sqlite3.Stmt // BEGIN and COMMIT, prepared once
	commit  *sqlite3.Stmt
	version uint64        // the write version when the snapshot began
	began   time.Duration // sinceStart when the snapshot began
}

func newReadPool(n int, maxAge time.Duration, open func() (*sqlite3.Conn, error), version func() uint64) *readPool {
	p := &readPool{open: open, version: version, maxAge: maxAge, idle: make(chan *readConn, n), slots: make(chan struct{}, n),
		done: make(chan struct{}), reaped: make(chan struct{})}
	go p.reap()
	return p
}

// get returns an idle connection, opens one if the pool has room, or waits.
func (p *readPool) get(ctx context.Context) (*readConn, error) {
	select {
	case rc := <-p.idle:
		return rc, nil
	default:
	}
	select {
	case rc := <-p.idle:
		return rc, nil
	case p.slots <- struct{}{}:
		select {
		case <-p.done:
			<-p.slots
			return nil, sql.ErrConnDone // the store is closed
		default:
		}
		rc, err := p.openConn()
		if err != nil {
			<-p.slots
			return nil, err
		}
		return rc, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *readPool) openConn() (*readConn, error) {
	c, err := p.open()
	if err != nil {
		return nil, err
	}
	rc := &readConn{c: c, stmts: map[string]*sqlite3.Stmt{}}
	if rc.begin, _, err = c.Prepare("BEGIN"); err == nil {
		rc.commit, _, err = c.Prepare("COMMIT")
	}
	if err != nil {
		rc.close()
		return nil, err
	}
	return rc, nil
}

// put returns rc to the pool; a connection that may be in an unknown state
// (a read panicked on it) is closed instead.
func (p *readPool) put(rc *readConn, broken bool) {
	if broken {
		rc.close()
		<-p.slots
		return
	}
	p.idle <- rc // never blocks: the pool holds at most cap(idle)
}

// snapshot makes sure rc's next read sees every write this process
// committed before the call, and, if fresh, every write committed before
// the call (it then runs in a transaction of its own, as it would outside
// the pool).
func (p *readPool) snapshot(rc *readConn, fresh bool) error {
	v, now := p.version(), sinceStart()
	if !rc.c.GetAutocommit() {
		if !fresh && rc.version == v && now-rc.began < p.maxAge {
			return nil
		}
		if err := rc.commit.Exec(); err != nil {
			return err
		}
	}
	if fresh {
		return nil
	}
	// The version is read before the transaction begins (SQLite takes the
	// snapshot at its first read): a write committed in between leaves a
	// newer snapshot than the version says, which only ends it sooner.
	rc.version, rc.began = v, now
	return rc.begin.Exec()
}

// reap ends the snapshots of idle connections that are maxAge old.
func (p *readPool) reap() {
	defer close(p.reaped)
	t := time.NewTicker(min(p.maxAge, maxSnapshotAge) / 2)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		for range len(p.idle) {
			var rc *readConn
			select {
			case rc = <-p.idle:
			default:
			}
			if rc == nil {
				break
			}
			broken := false
			if !rc.c.GetAutocommit() && sinceStart()-rc.began >= p.maxAge {
				broken = rc.commit.Exec() != nil
			}
			p.put(rc, broken)
		}
	}
}

// close stops the reaper and closes the idle connections; none may be in
// use.
func (p *readPool) close() {
	close(p.done)
	<-p.reaped
	for {
		select {
		case rc := <-p.idle:
			rc.close()
		default:
			return
		}
	}
}

func (rc *readConn) close() {
	for _, st := range rc.stmts {
		st.Close()
	}
	rc.begin.Close() // a nil *Stmt closes as a no-op
	rc.commit.Close()
	rc.c.Close() // ends the open transaction, if any
}

// rawQuery runs query (a read, with ? placeholders) with args on a read
// connection and calls row for each result row, with the statement
// positioned on it. The statement's column values are valid only during
// the call.
func (db *DB) rawQuery(ctx context.Context, query string, args []any, row func(st *sqlite3.Stmt) error) (err error) {
	rc, err := db.raw.get(ctx)
	if err != nil {
		return err
	}
	broken := true // unless the read returns
	defer func() { db.raw.put(rc, broken) }()
	err = db.rawRead(ctx, rc, query, args, row)
	broken = false
	return err
}

func (db *DB) rawRead(ctx context.Context, rc *readConn, query string, args []any, row func(st *sqlite3.Stmt) error) error {
	if err := db.raw.snapshot(rc, ctx.Value(freshKey{}) != nil); err != nil {
		return err
	}
	c := rc.c
	st := rc.stmts[query]
	if st == nil {
		var err error
		st, _, err = c.Prepare(query)
		if err != nil {
			return err
		}
		if len(rc.stmts) < maxCachedStmts && len(query) <= maxCachedQuery {
			rc.stmts[query] = st
		} else {
			defer st.Close()
		}
	}
	defer st.ClearBindings()
	defer st.Reset()
	for i, a := range args {
		if err := bind(st, i+1, a); err != nil {
			return err
		}
	}
	old := c.SetInterrupt(ctx)
	defer c.SetInterrupt(old)
	for st.Step() {
		if err := row(st); err != nil {
			return err
		}
	}
	if err := st.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// bind binds one argument of the types the store's queries use.
func bind(st *sqlite3.Stmt, i int, a any) error {
	switch v := a.(type) {
	case nil:
		return st.BindNull(i)
	case int64:
		return st.BindInt64(i, v)
	case int:
		return st.BindInt64(i, int64(v))
	case string:
		return st.BindText(i, v)
	case bool:
		return st.BindBool(i, v)
	}
	return fmt.Errorf("store: cannot bind %T", a)
}

// scanTicketRaw reads a row of ticketColumns into *t
// and reports whether the ticket has attachments of its own.
func scanTicketRaw(st *sqlite3.Stmt, t *desk.Ticket) (hasAttachments bool) {
	*t = desk.Ticket{
		ID: st.ColumnInt64(0), Title: st.ColumnText(1), Description: st.ColumnText(2),
		Category:  desk.Category(knownText(st.ColumnRawText(3), categoryNames)),
		Status:    desk.Status(knownText(st.ColumnRawText(4), statusNames)),
		CreatedAt: fromMicros(st.ColumnInt64(6)), UpdatedAt: fromMicros(st.ColumnInt64(7)),
		CreatedBy: desk.UserRef{ID: st.ColumnInt64(8)}, // see userRefs.resolve
		ChatID:    st.ColumnInt64(10),                  // NULL reads as 0
	}
	if p := st.ColumnInt(5); p >= 1 && p <= len(desk.Priorities) {
		t.Priority = desk.Priorities[p-1]
	}
	if st.ColumnType(9) != sqlite3.NULL {
		t.Assignee = &desk.UserRef{ID: st.ColumnInt64(9)}
	}
	return st.ColumnBool(11)
}

var (
	categoryNames = names(desk.Categories)
	statusNames   = names(desk.Statuses)
)

func names[S ~string](vals []S) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// knownText returns the string among known equal to b without allocating,
// or a copy of b.
func knownText(b []byte, known []string) string {
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}
