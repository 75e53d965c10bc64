package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"ticketflow/internal/desk"
)

const userColumns = `id, email, username, password_hash, role, is_active, token_version, date_joined, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*desk.User, error) {
	var u desk.User
	var role string
	var joined, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Username, &u.PasswordHash, &role, &u.Active, &u.TokenVersion, &joined, &updated); err != nil {
		return nil, err
	}
	u.Role = desk.Role(role)
	u.DateJoined, u.UpdatedAt = fromMicros(joined), fromMicros(updated)
	return &u, nil
}

// CreateUser inserts u and sets u.ID. A duplicate email or username (compared
// case-insensitively) is a KindConflict error naming the field.
func (db *DB) CreateUser(ctx context.Context, u *desk.User) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return db.txRow(ctx, tx, `INSERT INTO users
			(email, email_key, username, username_key, password_hash, role, is_active, token_version, date_joined, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`,
			u.Email, desk.NormalizeEmail(u.Email), u.Username, desk.NormalizeUsername(u.Username), u.PasswordHash,
			string(u.Role), u.Active, micros(u.DateJoined), micros(u.DateJoined)).Scan(&u.ID)
	})
	if desk.IsKind(err, desk.KindConflict) {
		field, msg := "username", "A user with that username already exists."
		if strings.Contains(err.Error(), "email") {
			field, msg = "email", "A user with that email already exists."
		}
		return &desk.Error{Kind: desk.KindConflict, Message: msg, Fields: map[string][]string{field: {msg}}, Err: err}
	}
	return err
}

// UserByID returns the user with that id, or a KindNotFound error.
func (db *DB) UserByID(ctx context.Context, id int64) (*desk.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, db.wrap(err)
}

// AuthUser is UserByID for authenticating a request: it answers from a
// short-lived cache, since every API request looks its user up. Changes
// made through this DB (role, active flag, password, token version) drop
// the cached entry at once; changes made by another process (the
// create-admin command, another instance on PostgreSQL) are seen within
// authUserTTL.
func (db *DB) AuthUser(ctx context.Context, id int64) (*desk.User, error) {
	if u, ok := db.authUsers.get(id); ok {
		return u, nil
	}
	gen := db.authUsers.gen.Load()
	u, err := db.UserByID(ctx, id)
	if err == nil {
		db.authUsers.put(gen, u)
	}
	return u, err
}

// authUserTTL is how long AuthUser trusts a cached user.
const authUserTTL = time.Second

// authUserMax bounds the cache; when full it is emptied.
const authUserMax = 10000

// userCache is AuthUser's cache. gen counts invalidations, so that a
// lookup that raced a change does not store what it read before it.
type userCache struct {
	mu  sync.RWMutex
	m   map[int64]cachedUser
	gen atomic.Uint64
}

type cachedUser struct {
	u  desk.User
	at time.Time
}

func (c *userCache) get(id int64) (*desk.User, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || time.Since(e.at) >= authUserTTL {
		return nil, false
	}
	return &e.u, true // a copy: callers may change it
}

func (c *userCache) put(gen uint64, u *desk.User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if c.m == nil || len(c.m) >= authUserMax {
		c.m = make(map[int64]cachedUser)
	}
	c.m[u.ID] = cachedUser{u: *u, at: time.Now()}
}

// forget drops a user whose row changed.
func (c *userCache) forget(id int64) {
	c.mu.Lock()
	c.gen.Add(1)
	delete(c.m, id)
	c.mu.Unlock()
}

// userRefs caches users' public references (id, username, email) for the
// ticket reads, which would otherwise join the users table twice per row.
// A user's username and email never change once the user exists (nothing
// updates them and users are never deleted), so an entry never goes stale,
// on this instance or any other. A feature that renames users must drop
// the entry here.
type userRefs struct {
	mu sync.RWMutex
	m  map[int64]desk.UserRef
}

// userRefsMax bounds the cache (about 100 bytes an entry); when full it
// is emptied and refilled by the users still being read.
const userRefsMax = 100000

// resolveTickets fills in the creator's and assignee's username and email
// of each ticket, whose reference carries only the id.
func (c *userRefs) resolveTickets(ctx context.Context, db *DB, ts []desk.Ticket) error {
	missing := c.fill(ts, nil)
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	args := make([]any, len(missing))
	for i, id := range missing {
		args[i] = id
	}
	rows, err := db.query(ctx, `SELECT id, username, email FROM users WHERE id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(missing)), ",")+`)`, args...)
	if err != nil {
		return db.wrap(err)
	}
	defer rows.Close()
	found := make(map[int64]desk.UserRef, len(missing))
	for rows.Next() {
		var u desk.UserRef
		if err := rows.Scan(&u.ID, &u.Username, &u.Email); err != nil {
			return db.wrap(err)
		}
		found[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return db.wrap(err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m)+len(found) > userRefsMax {
		c.m = make(map[int64]desk.UserRef)
	}
	maps.Copy(c.m, found)
	c.mu.Unlock()
	if left := c.fill(ts, found); len(left) > 0 {
		return fmt.Errorf("store: a ticket refers to user %d, who does not exist", left[0])
	}
	return nil
}

// fill sets each ticket's references from found or else the cache, and
// returns the ids it found in neither.
func (c *userRefs) fill(ts []desk.Ticket, found map[int64]desk.UserRef) (missing []int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	set := func(r *desk.UserRef) {
		u, ok := found[r.ID]
		if !ok {
			u, ok = c.m[r.ID]
		}
		if ok {
			*r = u
		} else {
			missing = append(missing, r.ID)
		}
	}
	for i := range ts {
		set(&ts[i].CreatedBy)
		if ts[i].Assignee != nil {
			set(ts[i].Assignee)
		}
	}
	return missing
}

// UserByLogin returns the user whose email or username equals login
// case-insensitively, or a KindNotFound error.
func (db *DB) UserByLogin(ctx context.Context, login string) (*desk.User, error) {
	if !storable(login) {
		return nil, desk.ErrNotFound // no account can have such a name
	}
	col := "username_key"
	key := desk.NormalizeUsername(login)
	if strings.Contains(login, "@") {
		// Usernames may contain @ too (Django's rule), so try the email first.
		u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`, desk.NormalizeEmail(login)))
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return u, db.wrap(err)
		}
	}
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+col+` = ?`, key))
	return u, db.wrap(err)
}

// UserFilter selects users for an admin listing.
type UserFilter struct {
	Search string // substring of email or username, case-insensitive
	Role   desk.Role
	Active *bool
	Limit  int
	Offset int
}

// MaxAdminRecipients bounds ActiveAdmins.
const MaxAdminRecipients = 1000

var activeAdmins = `SELECT ` + userColumns + ` FROM users WHERE role = 'admin' AND is_active = TRUE ORDER BY id` +
	limitClause(MaxAdminRecipients)

// ActiveAdmins returns up to MaxAdminRecipients active admins in id order:
// the recipients of admin notices, read at every ticket creation (Users
// with a role filter also counted the matches, a second statement).
func (db *DB) ActiveAdmins(ctx context.Context) ([]desk.User, error) {
	return db.users(ctx, activeAdmins)
}

// users runs q, whose rows are userColumns, and returns its users.
func (db *DB) users(ctx context.Context, q string, args ...any) ([]desk.User, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []desk.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(err)
		}
		out = append(out, *u)
	}
	return out, db.wrap(rows.Err())
}

// Users returns one page of users ordered by id, and the total matching.
func (db *DB) Users(ctx context.Context, f UserFilter) ([]desk.User, int, error) {
	var where []string
	var args []any
	if !storable(f.Search) {
		return nil, 0, nil // no account holds such text
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + escapeLike(strings.ToLower(s)) + "%"
		where = append(where, `(email_key LIKE ? ESCAPE '\' OR username_key LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	if f.Role != "" {
		where = append(where, "role = ?")
		args = append(args, string(f.Role))
	}
	if f.Active != nil {
		where = append(where, "is_active = ?")
		args = append(args, *f.Active)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.queryRow(ctx, `SELECT count(*) FROM users`+cond, args...).Scan(&total); err != nil {
		return nil, 0, db.wrap(err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	out, err := db.users(ctx, `SELECT `+userColumns+` FROM users`+cond+` ORDER BY id`+limitClause(limit)+` OFFSET ?`,
		append(args, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// CountActiveAdmins returns the number of active administrators.
func (db *DB) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND is_active`).Scan(&n)
	return n, db.wrap(err)
}

// ErrLastAdmin is returned when a change would leave no active administrator.
var ErrLastAdmin = &desk.Error{Kind: desk.KindConflict, Message: "This is the last active admin; promote another admin first."}

// SetUserAccess sets a user's role and active flag and bumps their token
// version, so that their existing tokens and sessions must be re-checked.
// The change is refused with ErrLastAdmin if it would leave no active admin;
// the check and the update are atomic (the PostgreSQL branch locks the admin
// rows, SQLite has a single writer).
func (db *DB) SetUserAccess(ctx context.Context, id int64, role desk.Role, active bool, now time.Time) (*desk.User, error) {
	var out *desk.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		lockAdmins := `SELECT id FROM users WHERE role = 'admin' AND is_active`
		if db.dialect == Postgres {
			lockAdmins += ` ORDER BY id FOR UPDATE`
		}
		rows, err := tx.QueryContext(ctx, lockAdmins)
		if err != nil {
			return err
		}
		var admins []int64
		for rows.Next() {
			var a int64
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			admins = append(admins, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		stillAdmin := role == desk.RoleAdmin && active
		if !stillAdmin && len(admins) == 1 && admins[0] == id {
			return ErrLastAdmin
		}
		u, err := scanUser(db.txRow(ctx, tx, `UPDATE users SET role = ?, is_active = ?,
			token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING `+userColumns,
			string(role), active, micros(now), id))
		out = u
		return err
	})
	db.authUsers.forget(id)
	return out, err
}

// SetPassword replaces a user's password hash and bumps their token version.
func (db *DB) SetPassword(ctx context.Context, id int64, hash string, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE users SET password_hash = ?, token_version = token_version + 1,
			updated_at = ? WHERE id = ?`, hash, micros(now), id)
		return notFoundIfNone(res, err)
	})
	db.authUsers.forget(id)
	return err
}

func notFoundIfNone(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return desk.ErrNotFound
	}
	return nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// storable reports whether s is text both engines can compare: PostgreSQL
// refuses NUL bytes and invalid UTF-8 (an error, where SQLite simply finds
// nothing), so lookups by such keys answer "no match" here instead.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
