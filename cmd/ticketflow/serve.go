package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/store"
	"ticketflow/internal/web"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("serve", getenv, stderr)
	serveFlags(fs, &c)
	if err := fs.parse(args); err != nil {
		return err
	}
	logBuf := newLogBuffer(stderr)
	defer logBuf.Close()
	log, err := newLogger(&c, logBuf)
	if err != nil {
		return err
	}
	log = slog.New(flushingHandler{log.Handler(), logBuf})
	start := time.Now()
	setGCPercent(os.Getenv("GOGC"))
	if !store.IsPostgresURL(c.DatabaseURL) {
		lock, err := lockDataDir(c.DataDir)
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	db, err := openStore(ctx, &c, log, c.AutoMigrate)
	if err != nil {
		return err
	}
	defer db.Close()
	sec, err := loadSecrets(ctx, db)
	if err != nil {
		return err
	}
	blobs, err := openBlobs(ctx, &c)
	if err != nil {
		return err
	}
	rt, stopRT := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRT()
	hub, rtDone, err := startRealtime(rt, &c, db, log)
	if err != nil {
		return err
	}
	defer func() { stopRT(); <-rtDone }()
	sender, err := newSender(&c, log)
	if err != nil {
		return err
	}
	svc, err := newService(&c, db, blobs, sec, log, hub, sender)
	if err != nil {
		return err
	}
	// The outbox worker: mail written before a crash is sent now, mail
	// written from here on as soon as its change commits.
	mctx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	mailDone := make(chan struct{})
	go func() { svc.RunMailer(mctx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }()
	// Keeps SQLite's search index in few segments (see
	// store.TidySearchIndex; nothing to do on PostgreSQL).
	tctx, stopTidy := context.WithCancel(context.WithoutCancel(ctx))
	tidyDone := make(chan struct{})
	go func() { db.TidySearchIndex(tctx); close(tidyDone) }()
	defer func() { stopTidy(); <-tidyDone }()
	handler := web.NewServer(web.Config{
		BaseURL: c.BaseURL, CORSOrigins: c.CORSOrigins, TrustedProxies: c.TrustedProxies, URLKey: sec.URLKey,
		HSTS: strings.HasPrefix(c.BaseURL, "https://"), Version: version(), Ready: db.Ping,
		TawkPropertyID: c.TawkPropertyID, TawkWidgetID: c.TawkWidgetID, TawkAPIKey: c.TawkAPIKey, TawkEmbedBase: c.TawkEmbedBase,
		Hub: hub, TawkWebhookSecret: c.TawkWebhookSecret,
	}, log, svc)

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	ln = web.WrapListener(ln)
	srv := &http.Server{
		Handler:           handler,
		ConnContext:       web.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	if c.DebugAddr != "" {
		stopDebug, err := serveDebug(c.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	go housekeeping(bg, svc, db.Dialect() == store.SQLite, start, log)

	url := "http://" + ln.Addr().String()
	log.Info("TicketFlow started", "addr", ln.Addr().String(), "database", db.Dialect().String(), "storage", c.Storage,
		"startup", time.Since(start).Round(time.Millisecond))
	logBuf.Flush() // the log says the server started before stdout does
	banner := "TicketFlow is listening on " + url + "\n"
	if n, err := svc.CountAdmins(ctx); err == nil && n == 0 {
		banner += "No administrator yet. Create one with:\n  go run ./cmd/ticketflow create-admin --email you@example.com --username admin --password-stdin\n" +
			"(type the password and press Enter), or open " + url + "/register to create a regular account.\n"
	}
	fmt.Fprint(stdout, banner)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Start-up (parsing migrations above all) leaves ~20 MB of garbage;
	// hand it back now rather than at the first GC under load.
	go debug.FreeOSMemory()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	// Shutdown does not wait for hijacked or streaming responses to end on
	// their own: close the event streams first so it need not time out.
	hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time; closing connections", "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// housekeeping removes expired sessions and orphaned uploads: once at start
// and then every ten minutes. On SQLite one server owns the data directory
// (it is locked), so every upload reserved before this process started is
// an orphan of a previous run; on PostgreSQL other instances may be
// mid-upload, so only reservations older than an hour are collected.
func housekeeping(ctx context.Context, svc *app.Service, single bool, start time.Time, log *slog.Logger) {
	age := time.Hour
	if single {
		age = time.Since(start)
	}
	for {
		if n, err := svc.CollectOrphans(ctx, age); err != nil {
			log.Warn("collect orphaned uploads", "err", err)
		} else if n > 0 {
			log.Info("collected orphaned uploads", "count", n)
		}
		if err := svc.PurgeExpired(ctx); err != nil {
			log.Warn("purge expired sessions", "err", err)
		}
		age = time.Hour
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Minute):
		}
	}
}

// serveDebug serves the pprof profiles on their own listener, never on the
// public one: profiles reveal internals and cost CPU.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("profiles served", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// defaultGCPercent is the collector's target unless GOGC is set: a busy
// server's live heap is small (a few MB), so the default 100 collects
// about twenty times a second under list traffic, and stopping every
// goroutine for each cycle cost ~10% of the list endpoint's throughput.
// 200 halves that at no measurable cost in peak memory (docs/PERFORMANCE.md).
const defaultGCPercent = 200

// setGCPercent applies defaultGCPercent when the operator has not chosen a
// GOGC (which the runtime has then already applied).
func setGCPercent(env string) {
	if env == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
