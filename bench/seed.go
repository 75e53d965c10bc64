package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib"

	"ticketflow/internal/store"
)

// pgSchemaURL is the benchmark's PostgreSQL database: a schema per size.
func pgSchemaURL(o options) string {
	u, _ := url.Parse(o.pgURL)
	q := u.Query()
	q.Set("search_path", fmt.Sprintf("tf_bench_%d", o.tickets))
	u.RawQuery = q.Encode()
	return u.String()
}

// seeded returns the data directory and environment of a database holding
// o.tickets sample tickets, seeding it first if it is missing or empty.
func seeded(ctx context.Context, o options, engine string) (string, []string, error) {
	dir, err := filepath.Abs(filepath.Join(o.dataDir, fmt.Sprintf("%s-%d", engine, o.tickets)))
	if err != nil {
		return "", nil, err
	}
	var env []string
	cfg := store.Config{SQLitePath: filepath.Join(dir, "ticketflow.db")}
	if engine == "postgres" {
		u := pgSchemaURL(o)
		admin, err := sql.Open("pgx", o.pgURL)
		if err != nil {
			return "", nil, err
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS tf_bench_%d", o.tickets)); err != nil {
			return "", nil, err
		}
		env = []string{"DATABASE_URL=" + u}
		cfg = store.Config{DatabaseURL: u}
	} else if engine != "sqlite" {
		return "", nil, fmt.Errorf("unknown engine %q", engine)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	n := 0
	if db, err := store.Open(ctx, cfg); err == nil {
		// A database seeded by an older build gets the newer migrations.
		if _, err := db.Migrate(ctx); err == nil {
			n, _ = db.CountTickets(ctx)
		}
		db.Close()
	}
	if n >= o.tickets {
		return dir, env, nil
	}
	if n > 0 {
		return "", nil, fmt.Errorf("%s holds %d tickets, not %d: delete it to reseed", dir, n, o.tickets)
	}
	fmt.Printf("seeding %s with %d tickets…\n", engine, o.tickets)
	args := []string{"seed", "--data-dir", dir, "--tickets", fmt.Sprint(o.tickets), "--users", fmt.Sprint(o.users)}
	if engine == "postgres" {
		args = append(args, "--database-url", pgSchemaURL(o))
	}
	return dir, env, run(ctx, o.bin, args...)
}

// warm reads the database into the operating system's page cache, as on a
// server that has been running a while, and returns how many bytes it read.
// Without it the random ticket details of the first runs after seeding (or
// after the kernel dropped the cache) measure the disk: each page the
// database reads costs a disk read instead of a copy.
func warm(ctx context.Context, o options, engine, dir string) (int64, error) {
	if engine == "postgres" {
		db, err := sql.Open("pgx", o.pgURL)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		// pg_prewarm ships with PostgreSQL (contrib); 'read' mode reads
		// every block of the schema's tables and indexes through the
		// operating system without filling shared buffers.
		if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
			return 0, err
		}
		var blocks int64
		err = db.QueryRowContext(ctx, `SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c
			WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'i')`, fmt.Sprintf("tf_bench_%d", o.tickets)).Scan(&blocks)
		return blocks * 8192, err
	}
	var n int64
	for _, name := range []string{"ticketflow.db", "ticketflow.db-wal"} {
		f, err := os.Open(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		m, err := io.Copy(io.Discard, f)
		f.Close()
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
