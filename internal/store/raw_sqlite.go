package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"

	"ticketflow/internal/desk"
)

// The ticket list and detail are TicketFlow's hottest reads. On SQLite they
// run below database/sql, on the read pool's own connection: database/sql
// copies every column into an interface (allocating for each integer and
// string) and converts it again in Scan. A first page of 21 rows at 1M
// tickets took 74 µs through database/sql and 49 µs read straight from the
// statement (BenchmarkQueries in bench_test.go measures the whole calls).

// rawStmts caches prepared statements per read connection (a statement
// belongs to one connection). A connection is used by one goroutine at a
// time, inside database/sql's Conn.Raw, so its map needs no lock.
type rawStmts struct {
	conns sync.Map // *sqlite3.Conn → map[string]*sqlite3.Stmt
}

// close finalizes every cached statement; the connections must be idle.
func (r *rawStmts) close() {
	r.conns.Range(func(_, v any) bool {
		for _, st := range v.(map[string]*sqlite3.Stmt) {
			st.Close()
		}
		return true
	})
}

// rawQuery runs query (a read, with ? placeholders) with args on a read
// connection and calls row for each result row, with the statement
// positioned on it. The statement's column values are valid only during
// the call.
func (db *DB) rawQuery(ctx context.Context, query string, args []any, row func(st *sqlite3.Stmt) error) error {
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(driver.Conn).Raw()
		v, _ := db.raw.conns.LoadOrStore(c, map[string]*sqlite3.Stmt{})
		cached := v.(map[string]*sqlite3.Stmt)
		defer func() {
			// database/sql discards a connection whose Raw call panicked;
			// SQLite refuses to close it while statements remain.
			if p := recover(); p != nil {
				for _, st := range cached {
					st.Close()
				}
				db.raw.conns.Delete(c)
				panic(p)
			}
		}()
		st := cached[query]
		if st == nil {
			st, _, err = c.Prepare(query)
			if err != nil {
				return err
			}
			if len(cached) < maxCachedStmts && len(query) <= maxCachedQuery {
				cached[query] = st
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
	})
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
