// Package store persists TicketFlow's domain in SQLite (the embedded default)
// or PostgreSQL (scale-out) behind one contract. The SQL is shared: it is
// written with ? placeholders and rebound for PostgreSQL, and the few places
// where the engines differ (full-text search, row locks) branch on the dialect.
// The store only persists; authorisation and validation live in package app.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
	"github.com/ncruces/go-sqlite3/ext/fts5"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Dialect is the SQL engine behind a DB.
type Dialect int

// The supported engines.
const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Config says which database to open.
type Config struct {
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://. Empty selects SQLite at SQLitePath.
	DatabaseURL string
	// SQLitePath is the SQLite database file; its directory is created.
	SQLitePath string
	// ReadConns is the size of the read pool (SQLite) or the whole pool
	// (PostgreSQL). Zero means a default.
	ReadConns int
	Logger    *slog.Logger

	// replan leaves SQLite's value-based planning on (see initConn), for
	// the benchmark that measures what turning it off is worth.
	replan bool
}

// DB is the store. On SQLite it keeps one writer connection (every write
// transaction takes the write lock at BEGIN, so writers queue instead of
// failing) and a pool of readers; on PostgreSQL both are one pool.
type DB struct {
	dialect Dialect
	w       *sql.DB
	r       *sql.DB
	path    string
	log     *slog.Logger
	rebound sync.Map // query with ? → query with $n (PostgreSQL only)

	// stmts caches prepared read statements by query text (SQLite only:
	// pgx keeps its own per-connection cache). Parsing SQL costs more than
	// running most of TicketFlow's queries.
	stmts  stmtCache // on the read pool
	wstmts stmtCache // on the writer
	raw    rawStmts  // see rawQuery (SQLite's read pool)
	wanted sync.Map  // queries to prepare on the writer when it is idle

	authUsers userCache // see AuthUser
	refs      userRefs  // see userRefs

	// writeVersion counts SQLite write transactions ended by this process
	// (see WriteVersion); lastWrite is when the latest ended (see
	// sinceStart). Neither counts quiet writes (see inQuietTx).
	writeVersion atomic.Uint64
	lastWrite    atomic.Int64

	// SQLite's writer (nil on PostgreSQL): see groupCommit.
	writes     chan *write
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

// maxCachedStmts bounds the statement cache; list queries are built from a
// few filters and orderings, so real use stays far below it.
const maxCachedStmts = 512

// maxCachedQuery keeps long generated statements (bulk imports) out of the
// statement caches.
const maxCachedQuery = 4096

// stmtCache holds prepared statements of one pool by query text.
type stmtCache struct {
	m sync.Map // string → *sql.Stmt
	n atomic.Int32
}

// get returns the prepared statement for query, or nil when it is not to
// be cached (the cache is full or the query is long).
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	if c.n.Load() >= maxCachedStmts || len(query) > maxCachedQuery {
		return nil, nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	c.n.Add(1)
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
}

// stmt returns the cached prepared read statement for query, or nil when
// the statement is not cached (PostgreSQL, or see stmtCache.get).
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if db.dialect != SQLite {
		return nil, nil
	}
	return db.stmts.get(ctx, db.r, query)
}

// txStmt returns query (with ? placeholders) prepared within tx, from the
// writer's statement cache on SQLite; nil means run the text.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, string) {
	query = db.q(query)
	if db.dialect != SQLite {
		return nil, query
	}
	if v, ok := db.wstmts.m.Load(query); ok {
		return tx.StmtContext(ctx, v.(*sql.Stmt)), query
	}
	// The writer's only connection is busy with tx: prepare it after the
	// commit (see prepareWanted) and run the text this time.
	if len(query) <= maxCachedQuery {
		db.wanted.Store(query, struct{}{})
	}
	return nil, query
}

// prepareWanted prepares, on the idle writer connection, the statements
// that transactions ran as text, so that later ones reuse them.
func (db *DB) prepareWanted() {
	db.wanted.Range(func(k, _ any) bool {
		db.wanted.Delete(k)
		_, _ = db.wstmts.get(context.Background(), db.w, k.(string)) // a failure runs as text again
		return true
	})
}

// exec runs a write statement within tx.
func (db *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, q := db.txStmt(ctx, tx, query)
	if st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// txRow runs a one-row statement within tx.
func (db *DB) txRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, q := db.txStmt(ctx, tx, query)
	if st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// txQuery runs a query within tx.
func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, q := db.txStmt(ctx, tx, query)
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// query runs a read query (written with ? placeholders) on the read pool.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = db.q(query)
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.r.QueryContext(ctx, query, args...)
}

// queryRow is query for one row; errors surface from Scan.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = db.q(query)
	if st, err := db.stmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, query, args...)
}

// Open connects to the configured database. It does not migrate; call
// Migrate (or check Pending) before use.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if IsPostgresURL(cfg.DatabaseURL) {
		return openPostgres(ctx, cfg, log)
	}
	if cfg.DatabaseURL != "" {
		return nil, fmt.Errorf("DATABASE_URL must start with postgres:// or postgresql:// (leave it empty for SQLite)")
	}
	return openSQLite(ctx, cfg, log)
}

// IsPostgresURL reports whether u names a PostgreSQL database.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func openSQLite(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if cfg.SQLitePath == "" {
		return nil, errors.New("store: no SQLite path")
	}
	path, err := filepath.Abs(cfg.SQLitePath)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	init := initConn
	if cfg.replan {
		init = fts5.Register
	}
	common := "&_pragma=busy_timeout(10000)&_pragma=foreign_keys(on)&_pragma=cache_size(-16384)"
	// temp_store(memory) on the writer: group commit gives every write its
	// own savepoint, and SQLite keeps the pages a savepoint may have to
	// restore in a statement journal, by default a temporary file. Written
	// through system calls, that journal was a quarter of a ticket
	// creation's time; it is a few pages per write.
	w, err := driver.Open(base+"?_txlock=immediate&_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=temp_store(memory)"+common, init)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	n := cfg.ReadConns
	if n <= 0 {
		n = 4
	}
	r, err := driver.Open(base+"?_txlock=deferred&_pragma=query_only(1)"+common, init)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{dialect: SQLite, w: w, r: r, path: path, log: log,
		writes: make(chan *write), closing: make(chan struct{}), writerDone: make(chan struct{})}
	go db.groupCommit()
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// initConn prepares each new SQLite connection: it registers FTS5 and turns
// on the query planner stability guarantee (QPSG), under which a statement's
// plan never depends on the values bound to it.
//
// Without it SQLite re-parses and re-plans a statement whenever a new
// binding might change its plan: LIKE patterns, sqlite_stat4 samples, and
// (in the SQLite 3.54 the driver embeds) an integer moving between 0 or 1
// and any other value. FTS5 looks a term up in each segment of its index
// with one cached statement bound to the segment's id, and segment ids
// start at 1, so on an index of several segments nearly every lookup was
// parsed again: 15% of a search's CPU (docs/PERFORMANCE.md). TicketFlow's own queries are written for one
// plan each and do not need value-based planning (Optimize also drops
// sqlite_stat4).
func initConn(c *sqlite3.Conn) error {
	if err := fts5.Register(c); err != nil {
		return err
	}
	_, err := c.Config(sqlite3.DBCONFIG_ENABLE_QPSG, true)
	return err
}

// DefaultConnectTimeout bounds a new PostgreSQL connection (dial, TLS,
// start-up, authentication) unless the URL sets connect_timeout: without
// one, a database host that has vanished or a proxy that never answers
// would hold requests for minutes instead of failing them with a 503.
const DefaultConnectTimeout = "5"

func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	dsn := cfg.DatabaseURL
	if u, err := url.Parse(dsn); err == nil {
		q := u.Query()
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", DefaultConnectTimeout)
		}
		// pgx prepares every statement; after five runs PostgreSQL may
		// switch to a generic plan that cannot see the search words, and
		// plan a search for a word in half the tickets like one for a rare
		// word (a full bitmap scan and sort: seconds at a million tickets).
		// Planning each execution costs far less than that.
		if q.Get("plan_cache_mode") == "" {
			q.Set("plan_cache_mode", "force_custom_plan")
		}
		// PostgreSQL's default random_page_cost (4) prices disks that
		// seek. With it, a filtered list ("Under Review", newest first)
		// walked the creation-date index and filtered, reading 12,000 rows
		// for 20 when the newest tickets are all New, instead of the index
		// on category and status: 25 ms instead of 1.7 ms at 1M tickets.
		// 1.1 is the usual figure for SSDs. A connection parameter
		// outranks ALTER DATABASE/ROLE settings, so a DBA who tuned it
		// sets it in the URL.
		if q.Get("random_page_cost") == "" {
			q.Set("random_page_cost", "1.1")
		}
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	_ = stdlib.GetDefaultDriver() // the import registers "pgx"
	n := cfg.ReadConns
	if n <= 0 {
		n = 16
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: Postgres, w: p, r: p, log: log}
	if err := db.Ping(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return db, nil
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Path returns the SQLite database file, or "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.wrap(err)
	}
	if db.w != db.r {
		if err := db.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return db.wrap(err)
		}
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.writes != nil {
		db.closeOnce.Do(func() { close(db.closing) })
		<-db.writerDone
	}
	db.stmts.close()
	db.wstmts.close()
	db.raw.close()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

func (db *DB) provider(ctx context.Context) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.dialect.String())
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	d := goose.DialectSQLite3
	if db.dialect == Postgres {
		d = goose.DialectPostgres
		// Advisory locks are database-wide but a schema migrates on its
		// own: lock per schema, and poll every second for up to 5 minutes.
		var schema string
		if err := db.w.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, db.wrap(err)
		}
		h := fnv.New64a()
		h.Write([]byte("ticketflow-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(d, db.w, sub, opts...)
}

// Migrate applies every pending migration and returns how many it applied.
// On PostgreSQL concurrent callers are serialised by an advisory lock.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.provider(ctx)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Pending reports the current schema version and how many migrations are
// not yet applied.
func (db *DB) Pending(ctx context.Context) (version int64, pending int, err error) {
	p, err := db.provider(ctx)
	if err != nil {
		return 0, 0, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range st {
		if s.State == goose.StatePending {
			pending++
		} else if s.Source.Version > version {
			version = s.Source.Version
		}
	}
	return version, pending, nil
}

// q returns query with its ? placeholders rewritten for the dialect. Queries
// must not contain a literal '?'.
func (db *DB) q(query string) string {
	if db.dialect != Postgres {
		return query
	}
	if v, ok := db.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	s := b.String()
	db.rebound.Store(query, s)
	return s
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
// On SQLite the transaction may be shared with other writers' (see
// groupCommit); fn must do all its work through tx.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.runWrite(ctx, fn, false)
}

// inQuietTx is inTx for a write that changes nothing a cached page shows
// and that should not hold back the search index's merges: the merges
// themselves, and the mail outbox's claims and outcomes (see SettleMails).
// It leaves WriteVersion alone, so cached pages stay valid, and does not
// count as activity for waitWriterIdle.
func (db *DB) inQuietTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.runWrite(ctx, fn, true)
}

func (db *DB) runWrite(ctx context.Context, fn func(tx *sql.Tx) error, quiet bool) error {
	if db.writes != nil {
		w := &write{ctx: ctx, fn: fn, quiet: quiet, done: make(chan error, 1)}
		select {
		case db.writes <- w:
		case <-ctx.Done():
			return ctx.Err()
		case <-db.closing:
			return db.wrap(sql.ErrConnDone)
		}
		return db.wrap(<-w.done) // always answered, after the commit
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return db.wrap(err)
	}
	return db.wrap(tx.Commit())
}

// write is one caller's transaction body waiting for the SQLite writer.
type write struct {
	ctx   context.Context
	fn    func(tx *sql.Tx) error
	quiet bool // see inQuietTx
	done  chan error
}

// maxGroup bounds how many writes share one commit.
const maxGroup = 64

// groupCommit is SQLite's only writer. Every write waiting when a commit
// starts joins the next transaction, each in its own savepoint, so that one
// fsync acknowledges them all; a failing write is rolled back to its
// savepoint alone. Nobody is answered before the commit is durable, and if
// the commit fails every write in it fails.
func (db *DB) groupCommit() {
	defer close(db.writerDone)
	batch := make([]*write, 0, maxGroup)
	for {
		var first *write
		select {
		case first = <-db.writes:
		case <-db.closing:
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxGroup {
			select {
			case w := <-db.writes:
				batch = append(batch, w)
			default:
				break fill
			}
		}
		db.commitGroup(batch)
		db.prepareWanted()
	}
}

func (db *DB) commitGroup(batch []*write) {
	errs := make([]error, len(batch))
	answer := func(commitErr error) {
		for i, w := range batch {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			w.done <- errs[i]
		}
	}
	// The writes' own contexts end their statements; the transaction
	// belongs to all of them.
	tx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		answer(err)
		return
	}
	ran, loud := 0, false
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if len(batch) == 1 {
			if errs[i] = w.fn(tx); errs[i] != nil {
				_ = tx.Rollback()
				answer(nil)
				return
			}
			ran++
			loud = loud || !w.quiet
			continue
		}
		if _, err := tx.Exec("SAVEPOINT w"); err != nil {
			_ = tx.Rollback()
			answer(err)
			return
		}
		if errs[i] = w.fn(tx); errs[i] != nil {
			// Some errors (I/O, disk full) end the whole transaction and
			// take the savepoint with them: then nothing in it stands.
			if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
				_ = tx.Rollback()
				answer(err)
				return
			}
		}
		if _, err := tx.Exec("RELEASE w"); err != nil {
			_ = tx.Rollback()
			answer(err)
			return
		}
		if errs[i] == nil {
			ran++
			loud = loud || !w.quiet
		}
	}
	if ran == 0 {
		_ = tx.Rollback()
		answer(nil)
		return
	}
	err = tx.Commit()
	// After the commit (a reader that saw the old version then reads the
	// new rows at worst) and before anyone is answered (a writer that
	// reads its own write next finds the version moved).
	if loud {
		db.writeVersion.Add(1)
		db.lastWrite.Store(int64(sinceStart()))
	}
	answer(err)
}

// WriteVersion returns a number that changes after every write
// transaction this process commits (but quiet ones, which change nothing a
// cached page shows: see inQuietTx), before the writers are answered, and
// whether it can stand for the database's state: on SQLite every write of
// a server goes through its one writer (commands run beside a running
// server, such as create-admin, write from another process and are not
// counted); on PostgreSQL other instances write too, so it cannot.
func (db *DB) WriteVersion() (uint64, bool) {
	if db.writes == nil {
		return 0, false
	}
	return db.writeVersion.Load(), true
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

// Schema returns the PostgreSQL schema the store works in ("" on SQLite):
// instances sharing it are one deployment.
func (db *DB) Schema(ctx context.Context) (string, error) {
	if db.dialect != Postgres {
		return "", nil
	}
	var s string
	err := db.w.QueryRowContext(ctx, "SELECT current_schema()").Scan(&s)
	return s, db.wrap(err)
}
