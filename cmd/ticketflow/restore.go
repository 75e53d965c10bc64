package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"ticketflow/internal/backup"
	"ticketflow/internal/blob"
	"ticketflow/internal/store"
)

// runRestore unpacks a backup archive into a new, empty data directory,
// checking every file against the archive's manifest; a damaged archive
// restores nothing. A PostgreSQL archive's dump is loaded with pg_restore
// when --database-url names the target, else left in the directory with
// the command to load it.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	var in string
	fs := newFlagSet("restore", getenv, stderr)
	dbFlags(fs, &c)
	fs.StringVar(&in, "in", "", "backup archive written by ticketflow backup (required)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if in == "" {
		return fmt.Errorf("%w: restore needs --in FILE and --data-dir DIR (a new or empty directory)", errUsage)
	}
	dir := c.DataDir
	created, err := emptyDir(dir)
	if err != nil {
		return err
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	m, err := restoreFiles(ctx, in, dir, &c)
	if err != nil {
		undoRestore(dir, created)
		return fmt.Errorf("restore from %s: %w; nothing was restored", in, err)
	}
	fmt.Fprintf(stdout, "Restored the %s backup of %s (schema version %d: %d users, %d tickets, %d comments, %d attachments) into %s.\n",
		m.Database, m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), m.SchemaVersion, m.Counts["users"], m.Counts["tickets"],
		m.Counts["comments"], m.Counts["attachments"], dir)
	if m.Attachments != "included" {
		fmt.Fprintf(stdout, "Attachment files were not in the archive (%s); the restored database expects them there.\n", m.Attachments)
	}
	switch {
	case m.Database == "sqlite":
		fmt.Fprintf(stdout, "Start it with: ticketflow serve --data-dir %s\n", quoteArg(dir))
	case c.DatabaseURL != "":
		fmt.Fprintf(stdout, "Loaded the PostgreSQL dump into schema %q. Start it with: DATABASE_URL=%s ticketflow serve --data-dir %s\n",
			m.PostgresSchema, quoteArg(redactURL(withSearchPath(c.DatabaseURL, m.PostgresSchema))), quoteArg(dir))
	default:
		fmt.Fprintf(stdout, "The PostgreSQL dump is %s. Load it into a database without TicketFlow's tables with\n"+
			"  pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname=URL %s\n"+
			"(it recreates schema %q), or run this command again with --database-url URL to have it done.\n",
			filepath.Join(dir, archivePGDump), quoteArg(filepath.Join(dir, archivePGDump)), m.PostgresSchema)
	}
	return nil
}

// restoreFiles extracts and checks the archive, then checks what the
// restored database says against the manifest.
func restoreFiles(ctx context.Context, in, dir string, c *config) (*backup.Manifest, error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := backup.Extract(bufio.NewReaderSize(f, 1<<20), dir, archiveName)
	if err != nil {
		return nil, err
	}
	d := store.SQLite
	if m.Database == "postgres" {
		d = store.Postgres
	}
	if latest, err := store.LatestSchemaVersion(d); err != nil || m.SchemaVersion > latest {
		return nil, fmt.Errorf("the backup has schema version %d, newer than this TicketFlow knows (%d): restore it with the version that made it (%s)",
			m.SchemaVersion, latest, m.Version)
	}
	var db *store.DB
	switch want := map[string]string{"sqlite": archiveSQLite, "postgres": archivePGDump}[m.Database]; {
	case want == "":
		return nil, fmt.Errorf("%w: unknown database %q in the manifest", backup.ErrDamaged, m.Database)
	case !hasFile(m, want):
		return nil, fmt.Errorf("%w: the archive has no %s", backup.ErrDamaged, want)
	case m.Database == "sqlite":
		if db, err = store.Open(ctx, store.Config{SQLitePath: filepath.Join(dir, archiveSQLite), ReadConns: 1}); err != nil {
			return nil, err
		}
	case c.DatabaseURL != "":
		if err := restorePostgres(ctx, c.DatabaseURL, filepath.Join(dir, archivePGDump), m.PostgresSchema); err != nil {
			return nil, err
		}
		if db, err = store.Open(ctx, store.Config{DatabaseURL: withSearchPath(c.DatabaseURL, m.PostgresSchema), ReadConns: 1}); err != nil {
			return nil, err
		}
		os.Remove(filepath.Join(dir, archivePGDump)) // loaded
	default:
		return m, nil
	}
	defer db.Close()
	n, err := db.Counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the restored database: %w", err)
	}
	if got := (map[string]int64{"users": n.Users, "tickets": n.Tickets, "comments": n.Comments, "attachments": n.Attachments}); !sameCounts(got, m.Counts) {
		return nil, fmt.Errorf("%w: the restored database has %v rows, the manifest says %v", backup.ErrDamaged, got, m.Counts)
	}
	return m, nil
}

// archiveName accepts the names a backup archive may hold.
func archiveName(name string) bool {
	if name == archiveSQLite || name == archivePGDump {
		return true
	}
	k, ok := strings.CutPrefix(name, archiveBlobsDir)
	return ok && blob.ValidKey(k)
}

func hasFile(m *backup.Manifest, name string) bool {
	for _, f := range m.Files {
		if f.Path == name {
			return true
		}
	}
	return false
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// emptyDir makes sure dir is a new or empty directory and creates it;
// created says whether it did not exist.
func emptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, os.MkdirAll(dir, 0o700)
	case err != nil:
		return false, err
	case len(entries) > 0:
		return false, fmt.Errorf("%s is not empty: restore only into a new or empty directory (nothing was changed)", dir)
	}
	return false, nil
}

// undoRestore removes what a failed restore wrote.
func undoRestore(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// redactURL hides a URL's password.
func redactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw, "@"); at > i {
			if colon := strings.Index(raw[i+3:at], ":"); colon >= 0 {
				return raw[:i+3+colon] + ":…" + raw[at:]
			}
		}
	}
	return raw
}
