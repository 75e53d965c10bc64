package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/realtime"
	"ticketflow/internal/store"
)

// openStore opens the configured database and brings its schema up to date
// (or, with migrate false, refuses to go on while migrations are pending).
func openStore(ctx context.Context, c *config, log *slog.Logger, migrate bool) (*store.DB, error) {
	db, err := store.Open(ctx, store.Config{DatabaseURL: c.DatabaseURL, SQLitePath: c.sqlitePath(), Logger: log})
	if err != nil {
		return nil, err
	}
	_, pending, err := db.Pending(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if pending > 0 && !migrate {
		db.Close()
		return nil, fmt.Errorf("%d database migration(s) pending and --migrate=false: run \"ticketflow migrate\" first", pending)
	}
	if pending > 0 {
		n, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		log.Info("database migrated", "applied", n)
	}
	return db, nil
}

// secrets are generated on first run and kept in the database, so that
// every instance of a scale-out deployment shares them. None is shipped.
type secrets struct {
	JWT    []byte
	URLKey []byte
}

func loadSecrets(ctx context.Context, db *store.DB) (secrets, error) {
	get := func(name string) ([]byte, error) {
		fresh := make([]byte, 32)
		_, _ = rand.Read(fresh)
		v, err := db.EnsureSetting(ctx, name, base64.StdEncoding.EncodeToString(fresh))
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) < auth.MinSecretLen {
			return nil, fmt.Errorf("setting %s is not a base64 secret of at least %d bytes: %w", name, auth.MinSecretLen, auth.ErrWeakSecret)
		}
		return b, nil
	}
	var s secrets
	var err error
	if s.JWT, err = get("jwt_secret"); err != nil {
		return s, err
	}
	s.URLKey, err = get("url_signing_key")
	return s, err
}

// openBlobs returns the configured attachment storage.
func openBlobs(ctx context.Context, c *config) (app.Blobs, error) {
	switch s := c.Storage; {
	case s == "" || s == "disk":
		return blob.NewDisk(filepath.Join(c.DataDir, "attachments"))
	case len(s) > 5 && s[:5] == "s3://":
		cfg, err := blob.ParseS3URL(s)
		if err != nil {
			return nil, err
		}
		return blob.NewS3(ctx, cfg)
	case s == "cloudinary" || len(s) > 13 && s[:13] == "cloudinary://":
		cfg, err := cloudinaryConfig(c)
		if err != nil {
			return nil, err
		}
		return blob.NewCloudinary(cfg)
	}
	return nil, fmt.Errorf("%w: --storage must be disk, s3://… or cloudinary", errUsage)
}

func cloudinaryConfig(c *config) (blob.CloudinaryConfig, error) {
	switch {
	case len(c.Storage) > 13:
		return blob.ParseCloudinaryURL(c.Storage)
	case c.CloudinaryURL != "":
		return blob.ParseCloudinaryURL(c.CloudinaryURL)
	case c.CloudinaryCloud != "" && c.CloudinaryKey != "" && c.CloudinarySecret != "":
		return blob.CloudinaryConfig{CloudName: c.CloudinaryCloud, APIKey: c.CloudinaryKey, APISecret: c.CloudinarySecret}, nil
	}
	return blob.CloudinaryConfig{}, fmt.Errorf("%w: --storage=cloudinary needs CLOUDINARY_URL or CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET", errUsage)
}

// newService wires the use cases. sender delivers mail (nil: logged).
func newService(c *config, db *store.DB, blobs app.Blobs, sec secrets, log *slog.Logger, hub *realtime.Hub, sender app.Sender) (*app.Service, error) {
	issuer, err := auth.NewIssuer(sec.JWT, c.AccessTTL, time.Now)
	if err != nil {
		return nil, err
	}
	deps := app.Deps{Store: db, Blobs: blobs, Hasher: auth.NewHasher(auth.DefaultParams, min(runtime.NumCPU(), 4)), Issuer: issuer, Log: log, Mail: sender}
	if hub != nil { // commands other than serve publish nothing
		deps.Events, deps.Presence = hub, hub
	}
	return app.New(app.Config{
		Registration:     app.Registration(c.Registration),
		AllowedDomains:   c.RegistrationDomains,
		AccessTTL:        c.AccessTTL,
		RefreshTTL:       c.RefreshTTL,
		SessionTTL:       c.SessionTTL,
		MaxUploadBytes:   int64(c.MaxUploadMB) << 20,
		MaxAttachments:   c.MaxAttachments,
		TawkFallbackUser: c.TawkFallbackUser,

		BaseURL:             c.mailBaseURL(),
		URLKey:              sec.URLKey,
		MailAdminsNewTicket: c.MailNewTickets,
		MailAdminsChat:      c.MailOfflineChats,
		Mailer:              app.MailerConfig{RetryBase: c.MailRetryBase, MaxAttempts: c.MailMaxAttempts},
	}, deps)
}

// mailBaseURL is where links in mails point: --base-url, else the address
// the server listens on.
func (c *config) mailBaseURL() string {
	if c.BaseURL != "" || c.Addr == "" {
		return c.BaseURL
	}
	return "http://" + c.Addr
}

// newSender returns the SMTP sender, or nil (mails are logged) when no
// SMTP server is configured.
func newSender(c *config, log *slog.Logger) (app.Sender, error) {
	if c.SMTPHost == "" {
		log.Info("no SMTP server configured: notification emails are logged, not sent")
		return nil, nil
	}
	if c.BaseURL == "" {
		log.Warn("--base-url is not set: links in emails point at the listening address", "base", c.mailBaseURL())
	}
	return mail.NewSMTP(mail.SMTPConfig{Host: c.SMTPHost, Port: c.SMTPPort, Username: c.SMTPUsername, Password: c.SMTPPassword,
		TLS: c.SMTPTLS, From: c.MailFrom})
}

// startRealtime returns the event hub, running until ctx ends (wait on the
// returned channel). On PostgreSQL it is joined to the other instances'
// hubs through LISTEN/NOTIFY on a channel named after the schema.
func startRealtime(ctx context.Context, c *config, db *store.DB, log *slog.Logger) (*realtime.Hub, <-chan struct{}, error) {
	done := make(chan struct{})
	if db.Dialect() != store.Postgres {
		hub := realtime.NewHub(realtime.Config{Log: log})
		go func() { hub.Run(ctx); close(done) }()
		return hub, done, nil
	}
	schema, err := db.Schema(ctx)
	if err != nil {
		return nil, nil, err
	}
	pg, err := realtime.NewPG(ctx, c.DatabaseURL, realtime.ChannelFor(schema), log)
	if err != nil {
		return nil, nil, err
	}
	hub := realtime.NewHub(realtime.Config{Log: log, Peers: pg})
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); pg.Run(ctx, hub.Receive, hub.Gap) }()
	go func() { defer both.Done(); hub.Run(ctx) }()
	go func() { both.Wait(); pg.Close(); close(done) }()
	return hub, done, nil
}

// lockDataDir takes an exclusive lock on the data directory so that two
// servers never share one SQLite database and attachment directory.
func lockDataDir(dir string) (io.Closer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "ticketflow.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another TicketFlow server is using %s", dir)
		}
		return nil, err
	}
	return f, nil
}

// noBlobs stands in for attachment storage in commands that never touch
// attachments (create-admin), so they need no storage credentials.
type noBlobs struct{}

var errNoBlobs = desk.Errorf(desk.KindInternal, "attachment storage is not available in this command")

func (noBlobs) Put(context.Context, string, io.Reader, int64, string) error { return errNoBlobs }
func (noBlobs) Open(context.Context, string) (io.ReadCloser, int64, error) {
	return nil, 0, errNoBlobs
}
func (noBlobs) Delete(context.Context, string) error { return errNoBlobs }
