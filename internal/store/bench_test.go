package store_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/sample"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// BenchmarkQueries measures the hot store queries on each engine with a
// seeded database (TICKETFLOW_BENCH_TICKETS tickets, default 10,000):
//
//	go test -run '^$' -bench Queries -benchmem ./internal/store/
//	TICKETFLOW_BENCH_TICKETS=100000 go test -run '^$' -bench Queries ./internal/store/
//
// The HTTP-level figures come from `go run ./bench` (docs/PERFORMANCE.md).
func BenchmarkQueries(b *testing.B) {
	n := benchTickets(b)
	for _, eng := range storetest.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			db := eng.Open(b)
			ctx := context.Background()
			owners, admin := seedBench(b, db, n)
			owner := owners[0].ID
			mid, err := db.CursorAt(ctx, store.OrderNewest, n*9/10)
			if err != nil {
				b.Fatal(err)
			}
			list := func(f store.TicketFilter) func(b *testing.B) {
				return func(b *testing.B) {
					for b.Loop() {
						if _, err := db.Tickets(ctx, f); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.Run("list", list(store.TicketFilter{}))
			b.Run("list-filtered", list(store.TicketFilter{Category: desk.CategoryTechnical, Status: desk.StatusNew}))
			b.Run("list-own", list(store.TicketFilter{OwnerID: owner}))
			b.Run("list-deep-cursor", list(store.TicketFilter{After: &mid}))
			b.Run("search-rare", list(store.TicketFilter{Search: "invoice duplicate"}))
			b.Run("search-common", list(store.TicketFilter{Search: "the"}))
			// A page whose tickets have attachments: a new user's 20
			// tickets with one file each (filed after the lists above).
			filer := &desk.User{Email: "files@example.com", Username: "files", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: time.Now().UTC()}
			if err := db.CreateUser(ctx, filer); err != nil {
				b.Fatal(err)
			}
			for i := range 20 {
				at := time.Now().UTC()
				t := &desk.Ticket{Title: "Screenshot of the error", Description: "Attached.", Category: desk.CategoryTechnical,
					Status: desk.StatusNew, Priority: desk.PriorityLow, CreatedBy: filer.Ref(), CreatedAt: at, UpdatedAt: at,
					Attachments: []desk.Attachment{{Key: "bench/" + strconv.Itoa(i), Filename: "error.png", ContentType: "image/png",
						Size: 48213, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", UploadedBy: filer.ID, CreatedAt: at}}}
				if err := db.CreateTicket(ctx, t); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("list-attachments", list(store.TicketFilter{OwnerID: filer.ID}))
			b.Run("ticket", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := db.TicketByID(ctx, int64(1+i%n)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("user", func(b *testing.B) {
				for b.Loop() {
					if _, err := db.UserByID(ctx, admin); err != nil {
						b.Fatal(err)
					}
				}
			})
			// newTicket is the ticket the create benchmarks file.
			newTicket := func(now time.Time) *desk.Ticket {
				return &desk.Ticket{Title: "Printer jams on floor 3", Description: "Every second page jams since Monday.",
					Category: desk.CategoryTechnical, Status: desk.StatusNew, Priority: desk.PriorityMedium,
					CreatedBy: owners[0], CreatedAt: now, UpdatedAt: now}
			}
			b.Run("create", func(b *testing.B) {
				now := time.Now().UTC()
				for b.Loop() {
					if err := db.CreateTicket(ctx, newTicket(now)); err != nil {
						b.Fatal(err)
					}
				}
			})
			// 32 writers at once, as under the HTTP benchmark's load: on
			// SQLite their writes share commits (see groupCommit).
			// cpu-µs/op is this process's CPU time per ticket, steadier
			// than the time on a shared machine (on PostgreSQL it leaves
			// out the server's backends).
			b.Run("create-parallel", func(b *testing.B) {
				now := time.Now().UTC()
				b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
				cpu0 := processCPU(b)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := db.CreateTicket(ctx, newTicket(now)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		})
	}
}

// processCPU returns the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTickets is TICKETFLOW_BENCH_TICKETS, or 10,000.
func benchTickets(b *testing.B) int {
	v := os.Getenv("TICKETFLOW_BENCH_TICKETS")
	if v == "" {
		return 10000
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// seedBench fills db with n sample tickets and returns their owners and the
// admin's id.
func seedBench(b *testing.B, db *store.DB, n int) ([]desk.UserRef, int64) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	from := now.AddDate(-2, 0, 0)
	admin := &desk.User{Email: "admin@example.com", Username: "admin", PasswordHash: "x", Role: desk.RoleAdmin, Active: true, DateJoined: from}
	if err := db.CreateUser(ctx, admin); err != nil {
		b.Fatal(err)
	}
	g := sample.New(1)
	var owners []desk.UserRef
	for _, u := range g.Users(max(n/500, 10), "x", from) {
		if err := db.CreateUser(ctx, &u); err != nil {
			b.Fatal(err)
		}
		owners = append(owners, u.Ref())
	}
	const chunk = 20000
	span := now.Sub(from)
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		a := from.Add(time.Duration(float64(span) * float64(done) / float64(n)))
		z := from.Add(time.Duration(float64(span) * float64(done+k) / float64(n)))
		if err := db.ImportTickets(ctx, g.Tickets(k, owners, a, z), admin.ID); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	return owners, admin.ID
}

// BenchmarkSearchSegments measures searches (SQLite) on the full-text
// index as a busy desk leaves it and as the server tidies it: merged into
// one segment (also with a ticket filed after every tenth search), after
// 3,000 tickets filed one write each (FTS5's own merging only), compacted
// (see TidySearchIndex), and merged again. The segments metric is the
// index's segment count in each state.
//
//	go test -run '^$' -bench SearchSegments -benchmem ./internal/store/
//	TICKETFLOW_BENCH_TICKETS=1000000 go test -run '^$' -bench SearchSegments -timeout 1h ./internal/store/
func BenchmarkSearchSegments(b *testing.B) {
	n := benchTickets(b)
	ctx := context.Background()
	db := storetest.SQLite(b)
	owners, _ := seedBench(b, db, n)
	state := func(name string) {
		segs, err := db.SearchSegments(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{"printer jams", "please"} {
			b.Run(name+"/"+q, func(b *testing.B) {
				for b.Loop() {
					if _, err := db.Tickets(ctx, store.TicketFilter{Search: q}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(segs), "segments")
			})
		}
	}
	if _, err := db.MergeSearchIndex(ctx, 0); err != nil {
		b.Fatal(err)
	}
	state("merged")
	// The same searches with a ticket filed after every tenth: each write
	// makes the read connections drop their page caches, and FTS5 prepare
	// its own statements again (docs/PERFORMANCE.md, "Where the remaining
	// time goes"). The merge afterwards restores one segment.
	for _, q := range []string{"printer jams", "please"} {
		b.Run("merged-filing/"+q, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := db.Tickets(ctx, store.TicketFilter{Search: q}); err != nil {
					b.Fatal(err)
				}
				if i++; i%10 == 0 {
					at := time.Now().UTC()
					if err := db.CreateTicket(ctx, &desk.Ticket{Title: "Keyboard missing keys", Description: "Filed between searches.",
						Category: desk.CategoryTechnical, Status: desk.StatusNew, Priority: desk.PriorityLow,
						CreatedBy: owners[0], CreatedAt: at, UpdatedAt: at}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	if _, err := db.MergeSearchIndex(ctx, 0); err != nil {
		b.Fatal(err)
	}
	fileOneByOne(b, db, owners, 3000)
	state("busy")
	if _, err := db.CompactSearchIndex(ctx, 0); err != nil {
		b.Fatal(err)
	}
	state("compacted")
	if _, err := db.MergeSearchIndex(ctx, 0); err != nil {
		b.Fatal(err)
	}
	state("merged-again")
}

// BenchmarkSearchPlanStability measures searches (SQLite) on an index of
// several segments through two stores on the same file: one as TicketFlow
// opens it, whose connections keep one plan per statement, and one with
// SQLite's default, which re-plans a statement when a new bound value
// might change its plan; FTS5 binds each segment's id in turn to its
// per-segment lookup, and an id moving between 1 and another value is
// such a change (see initConn). The rounds alternate, so that the
// machine's drift falls on both.
//
//	go test -run '^$' -bench SearchPlanStability ./internal/store/
//	TICKETFLOW_BENCH_TICKETS=1000000 go test -run '^$' -bench SearchPlanStability -timeout 1h ./internal/store/
func BenchmarkSearchPlanStability(b *testing.B) {
	n := benchTickets(b)
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "ticketflow.db")
	stable := storetest.Open(b, store.Config{SQLitePath: path})
	owners, _ := seedBench(b, stable, n)
	if _, err := stable.MergeSearchIndex(ctx, 0); err != nil {
		b.Fatal(err)
	}
	// FTS5 adds a segment per write and merges some, which leaves a
	// dozen or more.
	fileOneByOne(b, stable, owners, 300)
	segs, err := stable.SearchSegments(ctx)
	if err != nil {
		b.Fatal(err)
	}
	replanning := storetest.Open(b, store.Replanning(store.Config{SQLitePath: path}))
	for range 3 {
		for _, s := range []struct {
			name string
			db   *store.DB
		}{{"one-plan", stable}, {"replanning", replanning}} {
			for _, q := range []string{"printer jams", "please"} {
				b.Run(s.name+"/"+q, func(b *testing.B) {
					for b.Loop() {
						if _, err := s.db.Tickets(ctx, store.TicketFilter{Search: q}); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(segs), "segments")
				})
			}
		}
	}
}

// fileOneByOne files n tickets one write each, as on a working day, so
// that each adds a segment to SQLite's full-text index.
func fileOneByOne(b *testing.B, db *store.DB, owners []desk.UserRef, n int) {
	b.Helper()
	now := time.Now().UTC()
	for i := range n {
		t := &desk.Ticket{Title: "Monitor flickers after lunch", Description: "Ticket " + strconv.Itoa(i) + " of a busy afternoon.",
			Category: desk.CategoryTechnical, Status: desk.StatusNew, Priority: desk.PriorityMedium,
			CreatedBy: owners[i%len(owners)], CreatedAt: now, UpdatedAt: now}
		if err := db.CreateTicket(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
}
