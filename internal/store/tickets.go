package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"ticketflow/internal/desk"
)

// ticketColumns are a ticket's columns. The last two, its chat and whether
// it has files of its own (so that lists and details look attachments up
// only for those that have some; most do not), are kept on the row by
// triggers (migration 00006).
const ticketColumns = `t.id, t.title, t.description, t.category, t.status, t.priority, t.created_at, t.updated_at,
	t.created_by, t.assignee_id, t.chat_id, t.has_attachments`

// countColumn is the index of the filter's count that an unsearched list
// selects after ticketColumns (see listTickets).
const countColumn = 12

// ticketFrom does not join the users: their references come from
// db.refs (see userRefs).
const ticketFrom = ` FROM tickets t`

// ticketScanner scans rows of ticketColumns into tickets. One scanner
// serves every row of a result, so that the scan destinations are
// allocated once per query instead of once per row.
type ticketScanner struct {
	t              desk.Ticket
	cat, st        string
	prio           int
	created, upd   int64
	aID            sql.NullInt64
	chat           sql.NullInt64
	hasAttachments bool
	total          int64 // column countColumn, when the query has one
	dest           []any
}

func newTicketScanner(withTotal bool) *ticketScanner {
	s := &ticketScanner{}
	s.dest = []any{&s.t.ID, &s.t.Title, &s.t.Description, &s.cat, &s.st, &s.prio, &s.created, &s.upd,
		&s.t.CreatedBy.ID, &s.aID, &s.chat,
		&s.hasAttachments}
	if withTotal {
		s.dest = append(s.dest, &s.total)
	}
	return s
}

// scan reads one row into *t and reports whether the ticket has
// attachments of its own.
func (s *ticketScanner) scan(row interface{ Scan(...any) error }, t *desk.Ticket) (bool, error) {
	s.t = desk.Ticket{}
	if err := row.Scan(s.dest...); err != nil {
		return false, err
	}
	*t = s.t
	t.Category, t.Status = desk.Category(s.cat), desk.Status(s.st)
	if s.prio >= 1 && s.prio <= len(desk.Priorities) {
		t.Priority = desk.Priorities[s.prio-1]
	}
	t.CreatedAt, t.UpdatedAt, t.ChatID = fromMicros(s.created), fromMicros(s.upd), s.chat.Int64
	if s.aID.Valid {
		t.Assignee = &desk.UserRef{ID: s.aID.Int64} // see userRefs.resolve
	}
	return s.hasAttachments, nil
}

// CreateTicket inserts t with its first status-history entry and its
// attachments in one transaction, and releases the attachments' blob
// intents. mails (about t: their TicketID is set) go to the outbox in the
// same transaction. It sets the IDs of t, of each attachment and mail.
func (db *DB) CreateTicket(ctx context.Context, t *desk.Ticket, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.insertTicket(ctx, tx, t, mails) })
}

func (db *DB) insertTicket(ctx context.Context, tx *sql.Tx, t *desk.Ticket, mails []desk.Mail) error {
	err := db.txRow(ctx, tx, `INSERT INTO tickets
		(title, description, category, status, priority, created_by, assignee_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Title, t.Description, string(t.Category), string(t.Status), t.Priority.Rank(), t.CreatedBy.ID,
		nullID(t.Assignee), micros(t.CreatedAt), micros(t.UpdatedAt)).Scan(&t.ID)
	if err != nil {
		return err
	}
	if _, err := db.exec(ctx, tx, `INSERT INTO status_history (ticket_id, from_status, to_status, changed_by, note, created_at)
		VALUES (?, '', ?, ?, '', ?)`, t.ID, string(t.Status), t.CreatedBy.ID, micros(t.CreatedAt)); err != nil {
		return err
	}
	for i := range t.Attachments {
		t.Attachments[i].TicketID = t.ID
		if err := db.insertAttachment(ctx, tx, &t.Attachments[i]); err != nil {
			return err
		}
	}
	return db.enqueueMail(ctx, tx, t.ID, t.CreatedAt, mails)
}

func nullID(r *desk.UserRef) any {
	if r == nil {
		return nil
	}
	return r.ID
}

// TicketByID returns the ticket with its attachments, or a KindNotFound error.
func (db *DB) TicketByID(ctx context.Context, id int64) (*desk.Ticket, error) {
	one := make([]desk.Ticket, 1)
	t := &one[0]
	const q = `SELECT ` + ticketColumns + ticketFrom + ` WHERE t.id = ?`
	var has bool
	var err error
	if db.dialect == SQLite {
		found := false
		err = db.rawQuery(ctx, q, []any{id}, func(st *sqlite3.Stmt) error {
			has, found = scanTicketRaw(st, t), true
			return nil
		})
		if err == nil && !found {
			err = desk.ErrNotFound
		}
	} else {
		has, err = newTicketScanner(false).scan(db.queryRow(ctx, q, id), t)
	}
	if err != nil {
		return nil, db.wrap(err)
	}
	if err := db.refs.resolveTickets(ctx, db, one); err != nil {
		return nil, err
	}
	if !has {
		return t, nil
	}
	byTicket, err := db.ticketAttachments(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	t.Attachments = byTicket[id]
	return t, nil
}

// UpdateTicketStatus moves ticket id from status from to status to and
// records the change, atomically. If the ticket is no longer in status from
// (a concurrent change won), it returns a KindConflict error; if it does not
// exist, KindNotFound. mails go to the outbox in the same transaction.
func (db *DB) UpdateTicketStatus(ctx context.Context, c *desk.StatusChange, mails ...desk.Mail) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE tickets SET status = ?, updated_at = ? WHERE id = ? AND status = ?`,
			string(c.To), micros(c.At), c.TicketID, string(c.From))
		if err := notFoundIfNone(res, err); err != nil {
			if desk.IsKind(err, desk.KindNotFound) {
				var one int
				if db.txRow(ctx, tx, `SELECT 1 FROM tickets WHERE id = ?`, c.TicketID).Scan(&one) == nil {
					return desk.Errorf(desk.KindConflict, "The ticket's status was changed by someone else; reload and try again.")
				}
			}
			return err
		}
		if err := db.txRow(ctx, tx, `INSERT INTO status_history (ticket_id, from_status, to_status, changed_by, note, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, c.TicketID, string(c.From), string(c.To), c.By.ID, c.Note, micros(c.At)).Scan(&c.ID); err != nil {
			return err
		}
		return db.enqueueMail(ctx, tx, c.TicketID, c.At, mails)
	})
}

// StatusHistory returns a ticket's status changes, oldest first.
func (db *DB) StatusHistory(ctx context.Context, ticketID int64) ([]desk.StatusChange, error) {
	rows, err := db.query(ctx, `SELECT h.id, h.from_status, h.to_status, h.note, h.created_at, u.id, u.username, u.email
		FROM status_history h JOIN users u ON u.id = h.changed_by WHERE h.ticket_id = ? ORDER BY h.id`, ticketID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []desk.StatusChange
	for rows.Next() {
		c := desk.StatusChange{TicketID: ticketID}
		var from, to string
		var at int64
		if err := rows.Scan(&c.ID, &from, &to, &c.Note, &at, &c.By.ID, &c.By.Username, &c.By.Email); err != nil {
			return nil, db.wrap(err)
		}
		c.From, c.To, c.At = desk.Status(from), desk.Status(to), fromMicros(at)
		out = append(out, c)
	}
	return out, db.wrap(rows.Err())
}

// Order is an allow-listed sort order of ticket lists. Its value is the
// API's `ordering` parameter.
type Order string

// The orders. Relevance applies to searches only.
const (
	OrderNewest       Order = "-created_at"
	OrderFiled        Order = "-id" // newest filed first: creation order without a sort
	OrderOldest       Order = "created_at"
	OrderUpdated      Order = "-updated_at"
	OrderUpdatedFirst Order = "updated_at"
	OrderPriority     Order = "-priority"
	OrderPriorityLow  Order = "priority"
	OrderRelevance    Order = "relevance"
)

// Orders lists every order the API accepts.
var Orders = []Order{OrderNewest, OrderFiled, OrderOldest, OrderUpdated, OrderUpdatedFirst, OrderPriority, OrderPriorityLow, OrderRelevance}

// ParseOrder returns the order spelled s, or false.
func ParseOrder(s string) (Order, bool) {
	for _, o := range Orders {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// column returns the sort column and direction of a keyset order.
func (o Order) column() (col string, desc bool) {
	switch o {
	case OrderOldest:
		return "t.created_at", false
	case OrderUpdated:
		return "t.updated_at", true
	case OrderUpdatedFirst:
		return "t.updated_at", false
	case OrderPriority:
		return "t.priority", true
	case OrderPriorityLow:
		return "t.priority", false
	case OrderFiled:
		return "t.id", true
	}
	return "t.created_at", true
}

// sortKey returns t's value of the order's sort column.
func (o Order) sortKey(t *desk.Ticket) int64 {
	switch col, _ := o.column(); col {
	case "t.updated_at":
		return micros(t.UpdatedAt)
	case "t.priority":
		return int64(t.Priority.Rank())
	case "t.id":
		return t.ID
	}
	return micros(t.CreatedAt)
}

// Cursor marks a position in a keyset-ordered list: the sort key and id of
// the last row seen.
type Cursor struct {
	Order Order
	Key   int64
	ID    int64
}

// Encode returns the cursor as an opaque URL-safe token.
func (c Cursor) Encode() string {
	return string(c.Order) + "~" + strconv.FormatInt(c.Key, 36) + "~" + strconv.FormatInt(c.ID, 36)
}

// DecodeCursor parses a token made by Encode.
func DecodeCursor(s string) (Cursor, bool) {
	parts := strings.Split(s, "~")
	if len(parts) != 3 {
		return Cursor{}, false
	}
	o, ok := ParseOrder(parts[0])
	key, err1 := strconv.ParseInt(parts[1], 36, 64)
	id, err2 := strconv.ParseInt(parts[2], 36, 64)
	if !ok || o == OrderRelevance || err1 != nil || err2 != nil || id <= 0 {
		return Cursor{}, false
	}
	return Cursor{Order: o, Key: key, ID: id}, true
}

// TicketFilter selects and orders a page of tickets. Zero fields do not filter.
type TicketFilter struct {
	OwnerID  int64 // only tickets created by this user
	Category desk.Category
	Status   desk.Status
	Search   string // free text; see SearchTerms
	Order    Order  // empty: relevance when searching, else newest first
	Limit    int    // page size, 1..100 (default 20)
	Offset   int    // rows to skip (page-number paging)
	After    *Cursor
}

// TicketPage is one page of a ticket list.
type TicketPage struct {
	Tickets []desk.Ticket
	// Total counts every ticket matching the filter. Searches count exactly
	// up to SearchCountCap; past it Total is SearchCountCap and TotalExact
	// is false.
	Total      int
	TotalExact bool
	// Order is the order applied. A search asked for by relevance is
	// ordered newest filed first (OrderFiled) when it matches more than
	// SearchRankLimit tickets.
	Order   Order
	HasMore bool
	Next    *Cursor // position after the last row (nil for relevance)
}

// Search bounds: ranking and counting never touch more rows than these.
const (
	SearchRankLimit = 500
	SearchCountCap  = 1000
)

// Tickets returns one page of tickets.
func (db *DB) Tickets(ctx context.Context, f TicketFilter) (*TicketPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	where, args := []string{}, []any{}
	if f.OwnerID != 0 {
		where, args = append(where, "t.created_by = ?"), append(args, f.OwnerID)
	}
	if f.Category != "" {
		where, args = append(where, "t.category = ?"), append(args, string(f.Category))
	}
	if f.Status != "" {
		where, args = append(where, "t.status = ?"), append(args, string(f.Status))
	}
	page := &TicketPage{Order: f.Order, TotalExact: true}
	if f.Search == "" {
		if page.Order == "" || page.Order == OrderRelevance {
			page.Order = OrderNewest
		}
		return page, db.listTickets(ctx, page, where, args, f, limit)
	}
	terms := SearchTerms(f.Search)
	if len(terms) == 0 {
		if page.Order == "" {
			page.Order = OrderRelevance
		}
		return page, nil // nothing searchable: no match
	}
	mq := db.matchQuery(terms)
	total, err := db.countMatches(ctx, where, args, f.OwnerID != 0, mq)
	if err != nil {
		return nil, err
	}
	page.Total = min(total, SearchCountCap)
	page.TotalExact = total <= SearchCountCap
	small := total <= SearchRankLimit
	if page.Order == "" || page.Order == OrderRelevance {
		page.Order = OrderRelevance
		if !small {
			page.Order = OrderFiled
		}
	}
	if page.Order == OrderRelevance {
		return page, db.rankTickets(ctx, page, where, args, mq, f.Offset, limit)
	}
	if page.Order == OrderFiled && !small && f.OwnerID == 0 && db.dialect == SQLite {
		return page, db.scanMatches(ctx, page, where, args, mq, f, limit)
	}
	pred, parg := db.matchPredicate(small, !page.TotalExact)
	return page, db.listTickets(ctx, page, append(where, pred), append(args, parg(mq)), f, limit)
}

// countLimit stops search counts past SearchCountCap.
var countLimit = limitClause(SearchCountCap + 1)

// limitClause renders a LIMIT with a literal count. SQLite plans with the
// LIMIT's value, so a bound one makes every execution with a new value
// re-parse and re-plan the statement; page sizes are few and validated.
func limitClause(n int) string { return " LIMIT " + strconv.Itoa(n) }

// countTickets sums the maintained counts for an unsearched filter.
func (db *DB) countTickets(ctx context.Context, f TicketFilter) (int, error) {
	q, args := countQuery(f)
	var n int64
	err := db.queryRow(ctx, q, args...).Scan(&n)
	return int(n), db.wrap(err)
}

// countQuery is the query summing the maintained counts for an unsearched
// filter.
func countQuery(f TicketFilter) (string, []any) {
	q := `SELECT coalesce(sum(n), 0) FROM ticket_counts WHERE user_id = ?`
	args := []any{f.OwnerID}
	if f.Category != "" {
		q, args = q+" AND category = ?", append(args, string(f.Category))
	}
	if f.Status != "" {
		q, args = q+" AND status = ?", append(args, string(f.Status))
	}
	return q, args
}

// matchPredicate returns a WHERE condition restricting t to search matches
// and a function building its argument. On SQLite a small match set is
// materialised once; a large one is checked row by row as the ordered index
// is walked, which stops after one page. On PostgreSQL a dense one (more
// matches than SearchCountCap) is checked row by row too.
func (db *DB) matchPredicate(small, dense bool) (string, func(string) any) {
	id := func(s string) any { return s }
	switch {
	case db.dialect == Postgres && !dense:
		return "t.search @@ plainto_tsquery('english', ?)", id
	case db.dialect == Postgres:
		// IS TRUE hides the condition from the full-text index, so that
		// PostgreSQL walks the ordering's index and checks each row,
		// stopping after a page. It underestimates how many tickets match
		// several words (it multiplies their frequencies), and then
		// fetched every match by the index to sort them: 17,000 tickets
		// and 0.9 s for "printer jams" at 1M tickets, against 8 ms. Only
		// for dense matches: the walk reads about tickets ÷ matches rows
		// per result, which for a few hundred matches is worse than
		// sorting them all.
		return "(t.search @@ plainto_tsquery('english', ?)) IS TRUE", id
	case small:
		return "t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)", id
	}
	return "EXISTS (SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH ? AND rowid = t.id)", id
}

// countMatches counts search matches within the filter, stopping past
// SearchCountCap.
func (db *DB) countMatches(ctx context.Context, where []string, args []any, owned bool, mq string) (int, error) {
	var q string
	switch {
	case db.dialect == Postgres:
		q = `SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE ` + strings.Join(append(where, "t.search @@ plainto_tsquery('english', ?)"), " AND ") + countLimit + `) s`
		args = append(args, mq)
	case owned:
		// A user's own tickets are few: walk them and probe the index.
		q = `SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE ` + strings.Join(append(where,
			"EXISTS (SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH ? AND rowid = t.id)"), " AND ") + countLimit + `)`
		args = append(args, mq)
	case len(where) == 0:
		q = `SELECT count(*) FROM (SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH ?` + countLimit + `)`
		args = []any{mq}
	default:
		q = `SELECT count(*) FROM (SELECT 1 FROM tickets_fts f CROSS JOIN tickets t ON t.id = f.rowid
			WHERE tickets_fts MATCH ? AND ` + strings.Join(where, " AND ") + countLimit + `)`
		args = append([]any{mq}, args...)
	}
	var n int
	err := db.queryRow(ctx, q, args...).Scan(&n)
	return n, db.wrap(err)
}

// rankTickets fills page with one page of at most SearchRankLimit matches
// ordered by relevance (title and username weigh more than description).
func (db *DB) rankTickets(ctx context.Context, page *TicketPage, where []string, args []any, mq string, offset, limit int) error {
	var q string
	if db.dialect == Postgres {
		q = `SELECT ` + ticketColumns + ticketFrom + ` WHERE ` + strings.Join(append(where, "t.search @@ plainto_tsquery('english', ?)"), " AND ") +
			` ORDER BY ts_rank(t.search, plainto_tsquery('english', ?)) DESC, t.id DESC` + limitClause(limit+1) + ` OFFSET ?`
		args = append(args, mq, mq, offset)
	} else {
		q = `SELECT ` + ticketColumns + ` FROM (SELECT rowid AS id, bm25(tickets_fts, 10.0, 1.0, 10.0) AS score
			FROM tickets_fts WHERE tickets_fts MATCH ?) m CROSS JOIN tickets t ON t.id = m.id`
		if len(where) > 0 {
			q += ` WHERE ` + strings.Join(where, " AND ")
		}
		q += ` ORDER BY m.score, t.id DESC` + limitClause(limit+1) + ` OFFSET ?`
		args = append(append([]any{mq}, args...), offset)
	}
	_, err := db.fillPage(ctx, page, q, args, limit, false)
	return err
}

// scanMatches fills page with matches newest filed first by walking the
// full-text index in descending rowid (= ticket id) order, which FTS5 does
// without sorting, and joining each match to its ticket. Used for large
// match sets, where probing the index once per ticket in date order costs a
// full-text query per row; category and status filters pass a good share
// of tickets, so few extra rows are read (a user's own tickets are few and
// go the other way).
func (db *DB) scanMatches(ctx context.Context, page *TicketPage, where []string, args []any, mq string, f TicketFilter, limit int) error {
	offset := f.Offset
	if f.After != nil && f.After.Order == OrderFiled {
		where, args = append(where, "f.rowid < ?"), append(args, f.After.ID)
		offset = 0
	}
	q := `SELECT ` + ticketColumns + ` FROM tickets_fts f CROSS JOIN tickets t ON t.id = f.rowid
		WHERE ` + strings.Join(append([]string{"tickets_fts MATCH ?"}, where...), " AND ") +
		` ORDER BY f.rowid DESC` + limitClause(limit+1) + ` OFFSET ?`
	if _, err := db.fillPage(ctx, page, q, append(append([]any{mq}, args...), offset), limit, false); err != nil {
		return err
	}
	if page.HasMore {
		last := &page.Tickets[len(page.Tickets)-1]
		page.Next = &Cursor{Order: OrderFiled, Key: last.ID, ID: last.ID}
	}
	return nil
}

// listTickets fills page with one keyset- or offset-paged slice of tickets.
// An unsearched list also sets page.Total, from a count subquery in the
// same statement: one statement and one read snapshot instead of two.
func (db *DB) listTickets(ctx context.Context, page *TicketPage, where []string, args []any, f TicketFilter, limit int) error {
	counted := f.Search == ""
	var countArgs []any
	q := `SELECT ` + ticketColumns
	if counted {
		var cq string
		cq, countArgs = countQuery(f)
		q += `, (` + cq + `)`
	}
	q += ticketFrom
	col, desc := page.Order.column()
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	offset := f.Offset
	if f.After != nil && f.After.Order == page.Order {
		where = append(where, "("+col+", t.id) "+cmp+" (?, ?)")
		args = append(args, f.After.Key, f.After.ID)
		offset = 0
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + col + ` ` + dir + `, t.id ` + dir + limitClause(limit+1) + ` OFFSET ?`
	total, err := db.fillPage(ctx, page, q, append(append(countArgs, args...), offset), limit, counted)
	if err != nil {
		return err
	}
	if counted {
		page.Total = int(total)
		if len(page.Tickets) == 0 && (offset > 0 || f.After != nil) {
			// Past the end: no row carried the count.
			if page.Total, err = db.countTickets(ctx, f); err != nil {
				return err
			}
		}
	}
	if page.HasMore {
		last := &page.Tickets[len(page.Tickets)-1]
		page.Next = &Cursor{Order: page.Order, Key: page.Order.sortKey(last), ID: last.ID}
	}
	return nil
}

// fillPage runs q, whose rows are ticketColumns (and,
// if counted, a count, which it returns), into page.
func (db *DB) fillPage(ctx context.Context, page *TicketPage, q string, args []any, limit int, counted bool) (int64, error) {
	page.Tickets = make([]desk.Ticket, 0, limit+1) // the extra row says whether there is more
	var ids []int64                                // of tickets with attachments
	var total int64
	if db.dialect == SQLite {
		err := db.rawQuery(ctx, q, args, func(st *sqlite3.Stmt) error {
			page.Tickets = append(page.Tickets, desk.Ticket{})
			t := &page.Tickets[len(page.Tickets)-1]
			if scanTicketRaw(st, t) && len(page.Tickets) <= limit {
				ids = append(ids, t.ID)
			}
			if counted {
				total = st.ColumnInt64(countColumn)
			}
			return nil
		})
		if err != nil {
			return 0, db.wrap(err)
		}
	} else {
		rows, err := db.query(ctx, q, args...)
		if err != nil {
			return 0, db.wrap(err)
		}
		defer rows.Close()
		sc := newTicketScanner(counted)
		for rows.Next() {
			page.Tickets = append(page.Tickets, desk.Ticket{})
			t := &page.Tickets[len(page.Tickets)-1]
			has, err := sc.scan(rows, t)
			if err != nil {
				return 0, db.wrap(err)
			}
			if has && len(page.Tickets) <= limit {
				ids = append(ids, t.ID)
			}
		}
		if err := rows.Err(); err != nil {
			return 0, db.wrap(err)
		}
		total = sc.total
	}
	if len(page.Tickets) > limit {
		page.Tickets, page.HasMore = page.Tickets[:limit], true
	}
	if err := db.refs.resolveTickets(ctx, db, page.Tickets); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return total, nil
	}
	atts, err := db.ticketAttachments(ctx, ids)
	if err != nil {
		return 0, err
	}
	for i := range page.Tickets {
		page.Tickets[i].Attachments = atts[page.Tickets[i].ID]
	}
	return total, nil
}
