package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ticketflow/internal/backup"
	"ticketflow/internal/blob"
	"ticketflow/internal/store"
)

// Names inside a backup archive.
const (
	archiveSQLite   = "ticketflow.db"
	archivePGDump   = "postgres.dump"
	archiveBlobsDir = "attachments/"
)

// runBackup writes a consistent snapshot of a live (or stopped) TicketFlow
// to one archive: the database and, with disk storage, the attachment
// files the snapshot references. It never takes the data directory's lock,
// so the server keeps running.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	var out string
	fs := newFlagSet("backup", getenv, stderr)
	dbFlags(fs, &c)
	fs.str(&c.Storage, "storage", "TICKETFLOW_STORAGE", "disk", "attachment storage: disk (files are archived), s3://… or cloudinary (they are not)")
	fs.StringVar(&out, "out", "", "archive to write, e.g. ticketflow-2026-01-31.tar.gz (required; must not exist)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("%w: backup needs --out FILE", errUsage)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", out)
	}
	log, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	disk := c.Storage == "" || c.Storage == "disk"
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".ticketflow-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	partial := filepath.Join(tmp, "archive.tar.gz")
	var sum backupSummary
	if store.IsPostgresURL(c.DatabaseURL) {
		sum, err = backupPostgres(ctx, &c, log, tmp, partial, disk)
	} else {
		sum, err = backupSQLite(ctx, &c, log, tmp, partial, disk)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(partial, out); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(out)); err != nil {
		return err
	}
	m := sum.manifest
	fmt.Fprintf(stdout, "Backed up the %s database (schema version %d: %d users, %d tickets, %d comments, %d attachments) to %s.\n",
		m.Database, m.SchemaVersion, m.Counts["users"], m.Counts["tickets"], m.Counts["comments"], m.Counts["attachments"], out)
	if disk {
		fmt.Fprintf(stdout, "The archive holds %d attachment files (%s).\n", sum.blobs, humanBytes(sum.blobBytes))
	} else {
		fmt.Fprintf(stdout, "Attachment files are NOT in the archive: they live in %s. Back them up with that service's own tools.\n", storageName(c.Storage))
	}
	return nil
}

type backupSummary struct {
	manifest  backup.Manifest
	blobs     int
	blobBytes int64
}

// backupSQLite snapshots the database with VACUUM INTO, then archives the
// snapshot and the files of the attachments the snapshot references.
// Attachment files are written before their row commits and never change
// or go away while a row references them, so they can be copied after the
// snapshot from the live directory.
func backupSQLite(ctx context.Context, c *config, log *slog.Logger, tmp, partial string, disk bool) (backupSummary, error) {
	if _, err := os.Stat(c.sqlitePath()); err != nil {
		return backupSummary{}, fmt.Errorf("no TicketFlow database at %s: %w", c.sqlitePath(), err)
	}
	live, err := store.Open(ctx, store.Config{SQLitePath: c.sqlitePath(), ReadConns: 1, Logger: log})
	if err != nil {
		return backupSummary{}, err
	}
	snapPath := filepath.Join(tmp, archiveSQLite)
	err = live.SnapshotSQLite(ctx, snapPath)
	live.Close()
	if err != nil {
		return backupSummary{}, err
	}
	snap, err := store.Open(ctx, store.Config{SQLitePath: snapPath, ReadConns: 1, Logger: log})
	if err != nil {
		return backupSummary{}, err
	}
	m, err := manifestOf(ctx, snap, snap.Counts)
	var keys []string
	if err == nil && disk {
		err = snap.AttachmentKeys(ctx, func(k string) error { keys = append(keys, k); return nil })
	}
	snap.Close()
	if err != nil {
		return backupSummary{}, err
	}
	return writeArchive(partial, m, archiveSQLite, snapPath, c, keys, disk)
}

// manifestOf starts a manifest with what the database says about itself.
func manifestOf(ctx context.Context, db *store.DB, counts func(context.Context) (store.Counts, error)) (backup.Manifest, error) {
	v, _, err := db.Pending(ctx)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("read the schema version: %w", err)
	}
	n, err := counts(ctx)
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("count rows: %w", err)
	}
	return backup.Manifest{Version: version(), CreatedAt: time.Now().UTC(), Database: db.Dialect().String(), SchemaVersion: v,
		Counts: map[string]int64{"users": n.Users, "tickets": n.Tickets, "comments": n.Comments, "attachments": n.Attachments}}, nil
}

// writeArchive writes the database file and the attachment files to
// partial and fsyncs it.
func writeArchive(partial string, m backup.Manifest, dbName, dbPath string, c *config, keys []string, disk bool) (backupSummary, error) {
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return backupSummary{}, err
	}
	defer f.Close()
	w := backup.NewWriter(f)
	if err := w.AddFile(dbName, dbPath); err != nil {
		return backupSummary{}, err
	}
	sum := backupSummary{}
	root := filepath.Join(c.DataDir, "attachments")
	for _, k := range keys {
		if !blob.ValidKey(k) {
			return sum, fmt.Errorf("attachment key %q in the database is not a valid key", k)
		}
		err := w.AddFile(archiveBlobsDir+k, filepath.Join(root, filepath.FromSlash(k)))
		if errors.Is(err, os.ErrNotExist) {
			return sum, fmt.Errorf("the database references attachment %s, but %s has no such file: %w", k, root, err)
		}
		if err != nil {
			return sum, err
		}
		sum.blobs++
		sum.blobBytes += w.Files()[len(w.Files())-1].Size
	}
	m.Attachments = "included"
	if !disk {
		m.Attachments = "not included: stored in " + storageName(c.Storage)
	}
	if err := w.Close(m); err != nil {
		return sum, err
	}
	if err := f.Sync(); err != nil {
		return sum, err
	}
	m.Files = w.Files()
	sum.manifest = m
	return sum, f.Close()
}

// storageName names a --storage setting without its credentials.
func storageName(s string) string {
	switch {
	case strings.HasPrefix(s, "s3://"):
		return "S3"
	case strings.HasPrefix(s, "cloudinary"):
		return "Cloudinary"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
