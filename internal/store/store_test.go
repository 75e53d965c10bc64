package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// eachEngine runs fn as a parallel subtest on a fresh store of every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

func mkUser(t testing.TB, db *store.DB, name string, role desk.Role) *desk.User {
	t.Helper()
	u := &desk.User{Email: name + "@example.com", Username: name, PasswordHash: "x", Role: role, Active: true, DateJoined: t0}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func mkTicket(t testing.TB, db *store.DB, owner *desk.User, title, desc string, cat desk.Category, at time.Time) *desk.Ticket {
	t.Helper()
	tk := &desk.Ticket{Title: title, Description: desc, Category: cat, Status: desk.StatusNew, Priority: desk.PriorityMedium,
		CreatedBy: owner.Ref(), CreatedAt: at, UpdatedAt: at}
	if err := db.CreateTicket(context.Background(), tk); err != nil {
		t.Fatalf("create ticket: %v", err)
	}
	return tk
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, err %v", n, err)
		}
		v, pending, err := db.Pending(ctx)
		if err != nil || pending != 0 || v < 1 {
			t.Fatalf("Pending = %d, %d, %v", v, pending, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "Jane", desk.RoleUser)
		if jane.ID == 0 {
			t.Fatal("no id")
		}
		got, err := db.UserByID(ctx, jane.ID)
		if err != nil || got.Username != "Jane" || got.Email != "Jane@example.com" || !got.Active || got.Role != desk.RoleUser || !got.DateJoined.Equal(t0) {
			t.Fatalf("UserByID = %+v, %v", got, err)
		}
		for _, login := range []string{"jane", "JANE", "jane@EXAMPLE.com", " Jane@example.com "} {
			if u, err := db.UserByLogin(ctx, login); err != nil || u.ID != jane.ID {
				t.Errorf("UserByLogin(%q) = %v, %v", login, u, err)
			}
		}
		if _, err := db.UserByLogin(ctx, "nobody"); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("unknown login: %v", err)
		}
		if _, err := db.UserByID(ctx, 999999); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		// Uniqueness is case-insensitive and names the field.
		dupEmail := &desk.User{Email: "JANE@example.COM", Username: "other", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: t0}
		err = db.CreateUser(ctx, dupEmail)
		if e, ok := err.(*desk.Error); !ok || e.Kind != desk.KindConflict || len(e.Fields["email"]) == 0 {
			t.Errorf("duplicate email: %v", err)
		}
		dupName := &desk.User{Email: "x@example.com", Username: "JANE", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: t0}
		err = db.CreateUser(ctx, dupName)
		if e, ok := err.(*desk.Error); !ok || e.Kind != desk.KindConflict || len(e.Fields["username"]) == 0 {
			t.Errorf("duplicate username: %v", err)
		}
		// Listing with search and filters.
		mkUser(t, db, "bob", desk.RoleAdmin)
		mkUser(t, db, "under_score", desk.RoleUser)
		all, total, err := db.Users(ctx, store.UserFilter{})
		if err != nil || total != 3 || len(all) != 3 {
			t.Fatalf("Users = %d/%d, %v", len(all), total, err)
		}
		admins, total, _ := db.Users(ctx, store.UserFilter{Role: desk.RoleAdmin})
		if total != 1 || admins[0].Username != "bob" {
			t.Errorf("admins = %+v", admins)
		}
		// LIKE wildcards in the search are literal.
		found, total, _ := db.Users(ctx, store.UserFilter{Search: "_"})
		if total != 1 || found[0].Username != "under_score" {
			t.Errorf("search '_' = %+v", found)
		}
		found, total, _ = db.Users(ctx, store.UserFilter{Search: "%"})
		if total != 0 || len(found) != 0 {
			t.Errorf("search '%%' = %+v", found)
		}
		page, total, _ := db.Users(ctx, store.UserFilter{Limit: 1, Offset: 1})
		if total != 3 || len(page) != 1 || page[0].Username != "bob" {
			t.Errorf("page 2 = %+v", page)
		}
		// Password change bumps the token version.
		if err := db.SetPassword(ctx, jane.ID, "y", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = db.UserByID(ctx, jane.ID)
		if got.PasswordHash != "y" || got.TokenVersion != jane.TokenVersion+1 {
			t.Errorf("after SetPassword: %+v", got)
		}
		if err := db.SetPassword(ctx, 999999, "y", t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("SetPassword unknown: %v", err)
		}
	})
}

func TestLastAdminGuard(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := mkUser(t, db, "alice", desk.RoleAdmin)
		b := mkUser(t, db, "bob", desk.RoleAdmin)
		if _, err := db.SetUserAccess(ctx, a.ID, desk.RoleUser, true, t0); err != nil {
			t.Fatalf("demote one of two admins: %v", err)
		}
		if _, err := db.SetUserAccess(ctx, b.ID, desk.RoleAdmin, false, t0); err != store.ErrLastAdmin {
			t.Fatalf("deactivate last admin: %v", err)
		}
		if _, err := db.SetUserAccess(ctx, b.ID, desk.RoleUser, true, t0); err != store.ErrLastAdmin {
			t.Fatalf("demote last admin: %v", err)
		}
		u, err := db.SetUserAccess(ctx, a.ID, desk.RoleAdmin, true, t0)
		if err != nil || u.Role != desk.RoleAdmin || u.TokenVersion != 2 {
			t.Fatalf("re-promote: %+v, %v", u, err)
		}
		if n, _ := db.CountActiveAdmins(ctx); n != 2 {
			t.Fatalf("admins = %d", n)
		}
		// Two concurrent demotions of the last two admins: exactly one wins.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []int64{a.ID, b.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.SetUserAccess(ctx, id, desk.RoleUser, true, t0)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("concurrent demotions: %v / %v", errs[0], errs[1])
		}
		if n, _ := db.CountActiveAdmins(ctx); n != 1 {
			t.Fatalf("admins after race = %d", n)
		}
		if _, err := db.SetUserAccess(ctx, 999999, desk.RoleUser, true, t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestSettings(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Setting(ctx, "k"); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("missing setting: %v", err)
		}
		v, err := db.EnsureSetting(ctx, "k", "first")
		if err != nil || v != "first" {
			t.Fatalf("EnsureSetting = %q, %v", v, err)
		}
		if v, _ := db.EnsureSetting(ctx, "k", "second"); v != "first" {
			t.Fatalf("EnsureSetting overwrote: %q", v)
		}
		if err := db.PutSetting(ctx, "k", "third"); err != nil {
			t.Fatal(err)
		}
		if v, _ := db.Setting(ctx, "k"); v != "third" {
			t.Fatalf("PutSetting: %q", v)
		}
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "jane", desk.RoleUser)
		s := store.Session{IDHash: []byte("hash-1"), UserID: u.ID, CSRFToken: "csrf", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, gu, err := db.SessionUser(ctx, []byte("hash-1"), t0.Add(time.Minute))
		if err != nil || got.CSRFToken != "csrf" || gu.ID != u.ID || !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Fatalf("SessionUser = %+v %+v %v", got, gu, err)
		}
		if _, _, err := db.SessionUser(ctx, []byte("hash-1"), t0.Add(2*time.Hour)); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("expired session found: %v", err)
		}
		if _, _, err := db.SessionUser(ctx, []byte("other"), t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown session found: %v", err)
		}
		if err := db.DeleteSession(ctx, []byte("hash-1")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.SessionUser(ctx, []byte("hash-1"), t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("deleted session found: %v", err)
		}
		for i := range 3 {
			s.IDHash = []byte(fmt.Sprint("h", i))
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteUserSessions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.SessionUser(ctx, []byte("h1"), t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("user's sessions survived: %v", err)
		}
		s.IDHash, s.ExpiresAt = []byte("old"), t0
		db.CreateSession(ctx, s)
		if err := db.DeleteExpired(ctx, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkUser(t, db, "jane", desk.RoleUser)
		first := store.RefreshToken{IDHash: []byte("r1"), Family: "fam", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.CreateRefreshToken(ctx, first); err != nil {
			t.Fatal(err)
		}
		next := store.RefreshToken{IDHash: []byte("r2"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.RotateRefreshToken(ctx, []byte("r1"), &next, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if next.Family != "fam" || next.UserID != u.ID {
			t.Fatalf("rotation did not carry the family: %+v", next)
		}
		// Replaying r1 revokes the family, so r2 stops working too.
		replay := store.RefreshToken{IDHash: []byte("r3"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.RotateRefreshToken(ctx, []byte("r1"), &replay, t0.Add(2*time.Minute)); err != store.ErrRefreshReused {
			t.Fatalf("replay: %v", err)
		}
		r4 := store.RefreshToken{IDHash: []byte("r4"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.RotateRefreshToken(ctx, []byte("r2"), &r4, t0.Add(3*time.Minute)); err != store.ErrRefreshInvalid {
			t.Fatalf("sibling after replay: %v", err)
		}
		// Expiry and unknown tokens.
		exp := store.RefreshToken{IDHash: []byte("e1"), Family: "f2", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		db.CreateRefreshToken(ctx, exp)
		if err := db.RotateRefreshToken(ctx, []byte("e1"), &r4, t0.Add(time.Hour)); err != store.ErrRefreshInvalid {
			t.Fatalf("expired: %v", err)
		}
		if err := db.RotateRefreshToken(ctx, []byte("nope"), &r4, t0); err != store.ErrRefreshInvalid {
			t.Fatalf("unknown: %v", err)
		}
		// Logout revokes the family; another user cannot revoke it.
		l1 := store.RefreshToken{IDHash: []byte("l1"), Family: "f3", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		db.CreateRefreshToken(ctx, l1)
		if err := db.RevokeRefreshFamily(ctx, []byte("l1"), u.ID+1000, t0); err != store.ErrRefreshInvalid {
			t.Fatalf("revoke by other user: %v", err)
		}
		if err := db.RevokeRefreshFamily(ctx, []byte("l1"), u.ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.RotateRefreshToken(ctx, []byte("l1"), &r4, t0); err != store.ErrRefreshInvalid {
			t.Fatalf("revoked token rotated: %v", err)
		}
		// Revoking all of a user's tokens.
		a1 := store.RefreshToken{IDHash: []byte("a1"), Family: "f4", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		db.CreateRefreshToken(ctx, a1)
		if err := db.RevokeUserRefreshTokens(ctx, u.ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.RotateRefreshToken(ctx, []byte("a1"), &r4, t0); err != store.ErrRefreshInvalid {
			t.Fatalf("token survived user revocation: %v", err)
		}
	})
}

// TestConcurrentWritesFailAlone sends many writes at once, some of which
// must fail: on SQLite they share commits (group commit), and a failing one
// must take nothing else down nor leave anything behind.
func TestConcurrentWritesFailAlone(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			db := eng.Open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)
			newUser := func(name string) *desk.User {
				return &desk.User{Email: name + "@example.com", Username: name, PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: now}
			}
			if err := db.CreateUser(ctx, newUser("taken")); err != nil {
				t.Fatal(err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			const n = 120
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch i % 4 {
					case 0: // duplicate: fails inside the transaction
						errs[i] = db.CreateUser(ctx, newUser("TAKEN"))
					case 1: // gave up before running
						errs[i] = db.CreateUser(canceled, newUser(fmt.Sprintf("gone%d", i)))
					default:
						errs[i] = db.CreateUser(ctx, newUser(fmt.Sprintf("user%d", i)))
					}
				}()
			}
			wg.Wait()
			for i, err := range errs {
				switch i % 4 {
				case 0:
					if !desk.IsKind(err, desk.KindConflict) {
						t.Errorf("write %d: %v, want a conflict", i, err)
					}
				case 1:
					if err == nil {
						t.Errorf("write %d ran with a canceled context", i)
					}
				default:
					if err != nil {
						t.Errorf("write %d: %v", i, err)
						continue
					}
					if _, err := db.UserByLogin(ctx, fmt.Sprintf("user%d", i)); err != nil {
						t.Errorf("acknowledged user%d is missing: %v", i, err)
					}
				}
			}
			_, total, err := db.Users(ctx, store.UserFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 + n/2; total != want {
				t.Errorf("%d users stored, want %d (the taken one and the successful writes)", total, want)
			}
		})
	}
}

// TestUnstorableText: text PostgreSQL cannot hold (NUL bytes, invalid
// UTF-8) finds nothing on either engine instead of failing on one.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkUser(t, db, "jane", desk.RoleUser)
		for _, s := range []string{"jane\x00", "\x00", "jane@example.com\x00", "\xff\xfe", "ja\xffne"} {
			if _, err := db.UserByLogin(ctx, s); !desk.IsKind(err, desk.KindNotFound) {
				t.Errorf("UserByLogin(%q): %v", s, err)
			}
			if us, n, err := db.Users(ctx, store.UserFilter{Search: s}); err != nil || n != 0 || len(us) != 0 {
				t.Errorf("Users(search %q): %d %v", s, n, err)
			}
		}
	})
}

// SnapshotSQLite copies a database that another connection keeps writing
// to, without the upload reservations.
func TestSnapshotSQLite(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t)
	ctx := t.Context()
	if err := db.ReserveBlob(ctx, "2026/01/0123456789abcdef0123456789abcdef.png", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "snap.db")
	if err := db.SnapshotSQLite(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := db.SnapshotSQLite(ctx, path); err == nil {
		t.Error("a second snapshot overwrote the first")
	}
	snap, err := store.Open(ctx, store.Config{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if v, err := snap.Setting(ctx, "k"); err != nil || v != "v" {
		t.Errorf("setting in the snapshot: %q %v", v, err)
	}
	if keys, err := snap.StaleBlobIntents(ctx, time.Now().Add(time.Hour), 10); err != nil || len(keys) != 0 {
		t.Errorf("reservations in the snapshot: %v %v", keys, err)
	}
	if keys, err := db.StaleBlobIntents(ctx, time.Now().Add(time.Hour), 10); err != nil || len(keys) != 1 {
		t.Errorf("reservations in the original: %v %v", keys, err)
	}
	if c, err := snap.Counts(ctx); err != nil || c != (store.Counts{}) {
		t.Errorf("counts: %+v %v", c, err)
	}
}

func TestLatestSchemaVersion(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		v, err := store.LatestSchemaVersion(d)
		if err != nil || v < 3 {
			t.Errorf("%v: %d %v", d, v, err)
		}
	}
	db := storetest.SQLite(t)
	if v, pending, err := db.Pending(t.Context()); err != nil || pending != 0 {
		t.Fatal(v, pending, err)
	} else if latest, _ := store.LatestSchemaVersion(store.SQLite); v != latest {
		t.Errorf("migrated to %d, latest %d", v, latest)
	}
}

// TestAuthUserCache checks that AuthUser's cache never hides a change made
// through the same store, and that a change made by another process (here a
// second handle on the same file) shows within the cache's lifetime.
func TestAuthUserCache(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkUser(t, db, "admin", desk.RoleAdmin)
		u := mkUser(t, db, "carol", desk.RoleUser)
		got, err := db.AuthUser(ctx, u.ID)
		if err != nil || got.TokenVersion != 0 || !got.Active {
			t.Fatalf("AuthUser = %+v, %v", got, err)
		}
		got.Username = "changed by the caller" // callers get a copy
		if again, _ := db.AuthUser(ctx, u.ID); again.Username != "carol" {
			t.Fatalf("the cache handed out its own copy: %q", again.Username)
		}
		if _, err := db.SetUserAccess(ctx, u.ID, desk.RoleUser, false, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.AuthUser(ctx, u.ID); got.Active || got.TokenVersion != 1 {
			t.Fatalf("after deactivation: %+v", got)
		}
		if err := db.SetPassword(ctx, u.ID, "y", t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.AuthUser(ctx, u.ID); got.TokenVersion != 2 || got.PasswordHash != "y" {
			t.Fatalf("after a password change: %+v", got)
		}
		if _, err := db.AuthUser(ctx, 999999); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})

	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ticketflow.db")
	var dbs [2]*store.DB
	for i := range dbs {
		db, err := store.Open(ctx, store.Config{SQLitePath: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs[i] = db
	}
	u := mkUser(t, dbs[0], "dave", desk.RoleUser)
	if got, err := dbs[0].AuthUser(ctx, u.ID); err != nil || got.TokenVersion != 0 {
		t.Fatalf("AuthUser = %+v, %v", got, err)
	}
	if err := dbs[1].SetPassword(ctx, u.ID, "z", t0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := dbs[0].AuthUser(ctx, u.ID)
		if err == nil && got.TokenVersion == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a change by another process never showed: %+v, %v", got, err)
		}
	}
}

// TestActiveAdmins: the recipients of admin notices are the active admins,
// in id order; users and deactivated admins are not.
func TestActiveAdmins(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a1 := mkUser(t, db, "root", desk.RoleAdmin)
		mkUser(t, db, "jane", desk.RoleUser)
		gone := mkUser(t, db, "gone", desk.RoleAdmin)
		a2 := mkUser(t, db, "second", desk.RoleAdmin)
		if _, err := db.SetUserAccess(ctx, gone.ID, desk.RoleAdmin, false, t0); err != nil {
			t.Fatal(err)
		}
		got, err := db.ActiveAdmins(ctx)
		if err != nil || len(got) != 2 || got[0].ID != a1.ID || got[1].ID != a2.ID || got[0].Email != "root@example.com" || !got[1].Active {
			t.Fatalf("ActiveAdmins = %+v, %v", got, err)
		}
	})
}

// TestWriteVersion checks that on SQLite the count of commits moves with
// every write, and that PostgreSQL offers none. (That it moves before the
// writer is answered is by construction in commitGroup: a test cannot
// force the scheduling that would show the opposite order.)
func TestWriteVersion(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		v0, ok := db.WriteVersion()
		if db.Dialect() == store.Postgres {
			if ok {
				t.Fatal("PostgreSQL offers a write version, but other instances write too")
			}
			return
		}
		if !ok {
			t.Fatal("SQLite offers no write version")
		}
		owner := mkUser(t, db, "wv-owner", desk.RoleUser)
		v1, _ := db.WriteVersion()
		mkTicket(t, db, owner, "t", "d", desk.CategoryProduct, time.Now())
		v2, _ := db.WriteVersion()
		if v1 <= v0 || v2 <= v1 {
			t.Fatalf("versions %d, %d, %d: a write did not move the version", v0, v1, v2)
		}
	})
}
