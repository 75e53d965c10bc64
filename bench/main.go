// Command bench measures TicketFlow under load on a seeded database and
// compares every result with a bare net/http server on the same machine.
//
//	go run ./bench                          # 1,000,000 tickets, SQLite and PostgreSQL
//	go run ./bench -tickets 10000 -engines sqlite -duration 5s
//
// It builds the binaries, seeds databases it does not find (ticketflow
// seed), starts each server as a child process, drives it with vegeta
// (closed loop: -concurrency clients sending back to back), and reads
// memory from /proc. Results are printed as Markdown and written to -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	tickets     int
	users       int
	engines     []string
	duration    time.Duration
	concurrency int
	dataDir     string
	pgURL       string
	out         string
	bin         string
	hello       string
	only        []string // scenario name fragments; empty runs them all
}

func main() {
	var o options
	var engines string
	flag.IntVar(&o.tickets, "tickets", 1000000, "tickets in the seeded database")
	flag.IntVar(&o.users, "users", 2000, "users owning them")
	flag.StringVar(&engines, "engines", "sqlite,postgres", "engines to measure")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each scenario")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent clients")
	flag.StringVar(&o.dataDir, "data", "bench/data", "where seeded databases are kept between runs")
	flag.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (a schema per size is created in it)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the Markdown report")
	var only, bin string
	flag.StringVar(&bin, "bin", "", "measure this ticketflow binary instead of building ./cmd/ticketflow (to compare builds)")
	flag.StringVar(&only, "only", "", "run only the scenarios whose names contain one of these comma-separated fragments (skips uploads); for profiling one path")
	flag.Parse()
	o.engines = strings.Split(engines, ",")
	o.bin = bin
	if only != "" {
		o.only = strings.Split(only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runBench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func runBench(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "ticketflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o.hello = filepath.Join(tmp, "hello")
	fmt.Println("building…")
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "ticketflow")
		if err := run(ctx, "go", "build", "-o", o.bin, "./cmd/ticketflow"); err != nil {
			return err
		}
	}
	if err := run(ctx, "go", "build", "-o", o.hello, "./bench/hello"); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	ceiling, err := measureHello(ctx, o, tmp)
	if err != nil {
		return err
	}
	var reports []*report
	for _, engine := range o.engines {
		r, err := measureEngine(ctx, o, engine, tmp, ceiling)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		reports = append(reports, r)
	}
	// The machine's speed drifts (it is shared): hello once more at the
	// end shows by how much during this run.
	after, err := measureHello(ctx, o, tmp)
	if err != nil {
		fmt.Println("warning: hello at the end of the run:", err) // the report is still worth writing
	}
	md := render(o, ceiling, after, reports)
	fmt.Println(md)
	name := filepath.Join(o.out, fmt.Sprintf("bench-%d-%s.md", o.tickets, time.Now().Format("20060102-150405")))
	return os.WriteFile(name, []byte(md), 0o644)
}
