package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

// twoHandles opens one database twice: the server's store and another
// writer (a command run beside a SQLite server, another PostgreSQL
// instance).
func twoHandles(t *testing.T, engine string) (server, other *store.DB) {
	t.Helper()
	var cfg store.Config
	if engine == "sqlite" {
		cfg = store.Config{SQLitePath: filepath.Join(t.TempDir(), "ticketflow.db")}
	} else {
		cfg = store.Config{DatabaseURL: storetest.PostgresSchemaURL(t), ReadConns: 4}
	}
	open := func() *store.DB {
		db, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	server = open()
	if _, err := server.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return server, open()
}

func listTitles(t *testing.T, e *webtest.Env, path, token string, hdr ...string) (count float64, titles []string) {
	t.Helper()
	r := e.Do(t, "GET", path, nil, token, hdr...)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	for _, x := range r.JSON["results"].([]any) {
		titles = append(titles, x.(map[string]any)["title"].(string))
	}
	return r.JSON["count"].(float64), titles
}

// TestListPageCache checks what a reload of a list page shows: every write
// made through the server at once, to everyone; writes from elsewhere at
// once on PostgreSQL (nothing is cached there) and on SQLite after at most
// a second or on a forced reload; and never another viewer's page.
func TestListPageCache(t *testing.T) {
	t.Parallel()
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			t.Parallel()
			db, other := twoHandles(t, eng)
			e := webtest.New(t, db, webtest.Options{})
			admin := e.CreateUser(t, "root", desk.RoleAdmin)
			admin2 := e.CreateUser(t, "chief", desk.RoleAdmin)
			jane := e.CreateUser(t, "jane", desk.RoleUser)
			bob := e.CreateUser(t, "bob", desk.RoleUser)
			ctx := context.Background()
			create := func(u *webtest.User, title string) string {
				t.Helper()
				r := e.Do(t, "POST", "/api/tickets", map[string]any{"title": title, "description": "d", "category": "Technical"}, u.Access)
				if r.Status != 201 {
					t.Fatalf("create: %d %s", r.Status, r.Body)
				}
				return fmt.Sprint(r.JSON["id"])
			}
			elsewhere := func(title string) {
				t.Helper()
				now := e.Clock.Now()
				tk := &desk.Ticket{Title: title, Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
					Priority: desk.PriorityMedium, CreatedBy: bob.Ref(), CreatedAt: now, UpdatedAt: now}
				if err := other.CreateTicket(ctx, tk); err != nil {
					t.Fatal(err)
				}
			}
			want := func(who *webtest.User, path string, n float64, first string, hdr ...string) {
				t.Helper()
				c, titles := listTitles(t, e, path, who.Access, hdr...)
				if c != n || (first == "") != (len(titles) == 0) || (first != "" && titles[0] != first) {
					t.Fatalf("%s GET %s: count %v, titles %q; want %v starting with %q", who.Username, path, c, titles, n, first)
				}
			}

			create(jane, "Printer jams")
			want(admin, "/api/tickets", 1, "Printer jams")
			want(admin, "/api/tickets", 1, "Printer jams") // now from memory on SQLite

			// A write from elsewhere.
			elsewhere("Written elsewhere")
			if eng == "sqlite" {
				want(admin, "/api/tickets", 1, "Printer jams")
				want(admin, "/api/tickets", 2, "Written elsewhere", "Cache-Control", "no-cache")
				want(admin, "/api/tickets", 2, "Written elsewhere") // the forced reload refreshed the page
				elsewhere("Written elsewhere again")
				want(admin, "/api/tickets", 2, "Written elsewhere")
				want(admin, "/api/tickets", 3, "Written elsewhere again", "Pragma", "no-cache")
				elsewhere("Third from elsewhere")
				want(admin, "/api/tickets", 3, "Written elsewhere again")
				e.Clock.Advance(time.Second)
				want(admin, "/api/tickets", 4, "Third from elsewhere")
			} else {
				want(admin, "/api/tickets", 2, "Written elsewhere")
				elsewhere("Written elsewhere again")
				elsewhere("Third from elsewhere")
				want(admin, "/api/tickets", 4, "Third from elsewhere")
			}

			// Writes through the server show at once, for everyone.
			want(admin2, "/api/tickets", 4, "Third from elsewhere")
			id := create(bob, "Laptop fan")
			want(admin, "/api/tickets", 5, "Laptop fan")
			want(admin2, "/api/tickets", 5, "Laptop fan")
			want(bob, "/api/tickets", 4, "Laptop fan")
			want(jane, "/api/tickets", 1, "Printer jams") // same address, her own page
			want(admin, "/api/tickets?status=Under%20Review", 0, "")
			if r := e.Do(t, "PATCH", "/api/tickets/"+id+"/status", map[string]any{"status": "Under Review"}, admin.Access); r.Status != 200 {
				t.Fatalf("status: %d %s", r.Status, r.Body)
			}
			want(admin, "/api/tickets?status=Under%20Review", 1, "Laptop fan")

			// Attachment links are signed for the viewer who reads the page.
			m := webtest.NewMultipart().Field("title", "Scanned form").Field("category", "Financial").Field("description", "see file").
				File("attachment", "form.pdf", pdfFile).Close()
			if r := e.Do(t, "POST", "/api/tickets", m, jane.Access); r.Status != 201 {
				t.Fatalf("create with file: %d %s", r.Status, r.Body)
			}
			for _, u := range []*webtest.User{admin, admin2, admin, jane} {
				r := e.Do(t, "GET", "/api/tickets?category=Financial", nil, u.Access)
				res, _ := r.JSON["results"].([]any)
				if r.Status != 200 || len(res) != 1 {
					t.Fatalf("%s: %d %s", u.Username, r.Status, r.Body)
				}
				link, _ := res[0].(map[string]any)["attachment"].(string)
				if !strings.Contains(link, "?t="+strconv.FormatInt(u.ID, 36)+".") {
					t.Fatalf("%s reads a link signed for someone else: %s", u.Username, link)
				}
				if d := e.Do(t, "GET", strings.TrimPrefix(link, e.URL), nil, ""); d.Status != 200 {
					t.Fatalf("%s: the signed link answers %d", u.Username, d.Status)
				}
			}

			// A demoted admin sees their own page, not the desk's.
			if r := e.Do(t, "PATCH", "/api/users/"+strconv.FormatInt(admin.ID, 10), map[string]any{"role": "user"}, admin2.Access); r.Status != 200 {
				t.Fatalf("demote: %d %s", r.Status, r.Body)
			}
			e.Login(t, admin) // a role change ends the sessions
			want(admin, "/api/tickets", 0, "")
		})
	}
}

// TestListPageCacheReadsOwnWrites files tickets from many clients at once,
// each reading the desk's first page right after its own ticket was
// accepted while the others keep the page changing: each must find its
// ticket there.
func TestListPageCacheReadsOwnWrites(t *testing.T) {
	t.Parallel()
	e := webtest.New(t, storetest.SQLite(t), webtest.Options{})
	admin := e.CreateUser(t, "root", desk.RoleAdmin)
	const clients, rounds = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, clients*rounds)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				title := fmt.Sprintf("client %d round %d", c, i)
				r := e.Do(t, "POST", "/api/tickets", map[string]any{"title": title, "description": "d", "category": "Product"}, admin.Access)
				if r.Status != 201 {
					errs <- fmt.Errorf("create: %d %s", r.Status, r.Body)
					return
				}
				l := e.Do(t, "GET", "/api/tickets?page_size=50", nil, admin.Access)
				if !strings.Contains(string(l.Body), `"title":"`+title+`"`) {
					errs <- fmt.Errorf("%s is not on the page read right after it was filed: %s", title, l.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c, _ := listTitles(t, e, "/api/tickets", admin.Access); c != clients*rounds {
		t.Fatalf("count %v, want %d", c, clients*rounds)
	}
}
