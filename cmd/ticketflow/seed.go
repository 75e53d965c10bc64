package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/desk"
	"ticketflow/internal/sample"
)

// seedChunk is how many tickets are generated and imported at a time, so
// that memory stays flat whatever --tickets is.
const seedChunk = 20000

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	var tickets, users int
	var seed uint64
	var adminPassword, userPassword string
	fs := newFlagSet("seed", getenv, stderr)
	dbFlags(fs, &c)
	fs.IntVar(&tickets, "tickets", 10000, "how many tickets to create")
	fs.IntVar(&users, "users", 200, "how many users own them")
	fs.Uint64Var(&seed, "seed", 1, "random seed (the same seed gives the same data)")
	fs.StringVar(&adminPassword, "admin-password", "Sample-Admin-2026", "password of the sample admin account \"admin\"")
	fs.StringVar(&userPassword, "user-password", "Sample-User-2026", "password of every sample user")
	if err := fs.parse(args); err != nil {
		return err
	}
	if tickets < 0 || users < 1 {
		return fmt.Errorf("%w: --tickets must be ≥ 0 and --users ≥ 1", errUsage)
	}
	log, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, &c, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.CountTickets(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("the database already has %d tickets; seed an empty one", n)
	}
	start := time.Now()
	hasher := auth.NewHasher(auth.DefaultParams, 1)
	adminHash, err := hasher.Hash(ctx, adminPassword)
	if err != nil {
		return err
	}
	userHash, err := hasher.Hash(ctx, userPassword)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	from := now.AddDate(-2, 0, 0)
	admin := &desk.User{Email: "admin@example.com", Username: "admin", PasswordHash: adminHash, Role: desk.RoleAdmin, Active: true, DateJoined: from}
	if err := db.CreateUser(ctx, admin); err != nil {
		return fmt.Errorf("create the sample admin: %w", err)
	}
	g := sample.New(seed)
	owners := make([]desk.UserRef, 0, users)
	for _, u := range g.Users(users, userHash, from) {
		if err := db.CreateUser(ctx, &u); err != nil {
			return err
		}
		owners = append(owners, u.Ref())
	}
	// Each chunk covers its share of the two years, so dates rise with ids.
	span := now.Sub(from)
	for done := 0; done < tickets; {
		n := min(seedChunk, tickets-done)
		a := from.Add(time.Duration(float64(span) * float64(done) / float64(tickets)))
		b := from.Add(time.Duration(float64(span) * float64(done+n) / float64(tickets)))
		if err := db.ImportTickets(ctx, g.Tickets(n, owners, a, b), admin.ID); err != nil {
			return err
		}
		done += n
		if ctx.Err() != nil {
			return ctx.Err()
		}
		el := time.Since(start)
		fmt.Fprintf(stdout, "\r%d/%d tickets (%.0f/s)", done, tickets, float64(done)/el.Seconds())
	}
	fmt.Fprintf(stdout, "\noptimizing indexes…\n")
	if err := db.Optimize(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Seeded %d tickets and %d users in %s.\nSign in as admin / %s, or any user (e.g. %s) / %s.\n",
		tickets, users, time.Since(start).Round(100*time.Millisecond), adminPassword, owners[0].Username, userPassword)
	return nil
}
