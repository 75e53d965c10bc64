package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"ticketflow/internal/store"
)

// backupPostgres runs pg_dump (custom format, TicketFlow's schema only) on
// a snapshot exported by a repeatable-read transaction, and reads the
// attachment keys and row counts in that same transaction, so the dump and
// the archived files agree exactly.
func backupPostgres(ctx context.Context, c *config, log *slog.Logger, tmp, partial string, disk bool) (backupSummary, error) {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		return backupSummary{}, errors.New("pg_dump is not installed: install the PostgreSQL client tools (the server's major version or newer), " +
			"or back up by hand as docs/OPERATIONS.md describes")
	}
	dbURL, env, err := libpqURL(c.DatabaseURL)
	if err != nil {
		return backupSummary{}, err
	}
	db, err := store.Open(ctx, store.Config{DatabaseURL: c.DatabaseURL, ReadConns: 2, Logger: log})
	if err != nil {
		return backupSummary{}, err
	}
	defer db.Close()
	snap, err := db.ExportSnapshot(ctx)
	if err != nil {
		return backupSummary{}, err
	}
	defer snap.Close()
	m, err := manifestOf(ctx, db, snap.Counts)
	if err != nil {
		return backupSummary{}, err
	}
	m.PostgresSchema = snap.Schema
	var keys []string
	if disk {
		if err := snap.AttachmentKeys(ctx, func(k string) error { keys = append(keys, k); return nil }); err != nil {
			return backupSummary{}, err
		}
	}
	dump := filepath.Join(tmp, archivePGDump)
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges",
		"--schema="+pgIdent(snap.Schema), "--snapshot="+snap.ID, "--file="+dump, "--dbname="+dbURL,
		// In-flight uploads' reservations stay out, as in SQLite snapshots:
		// the restored database owns exactly the files its rows reference.
		"--exclude-table-data="+pgIdent(snap.Schema)+".blob_intents")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return backupSummary{}, fmt.Errorf("pg_dump: %v\n%s", err, out)
	}
	return writeArchive(partial, m, archivePGDump, dump, c, keys, disk)
}

// pgIdent quotes a name for pg_dump's patterns (no case folding, no
// wildcards).
func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// libpqParams are the URL parameters libpq (pg_dump, pg_restore, psql)
// understands; pgx accepts more, which libpq would refuse.
var libpqParams = map[string]bool{
	"sslmode": true, "sslrootcert": true, "sslcert": true, "sslkey": true, "sslpassword": true, "sslcrl": true,
	"sslnegotiation": true, "channel_binding": true, "gssencmode": true, "krbsrvname": true, "requiressl": true,
	"connect_timeout": true, "application_name": true, "target_session_attrs": true, "options": true,
	"service": true, "passfile": true, "host": true, "hostaddr": true, "port": true, "dbname": true, "user": true,
	"keepalives": true, "keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
}

// libpqURL turns a DATABASE_URL into one libpq accepts, with the password
// moved into the environment (PGPASSWORD) so it never shows in a process
// list. search_path is dropped: the tools are given the schema by name.
func libpqURL(raw string) (string, []string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	var env []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	for k := range q {
		if !libpqParams[k] {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env, nil
}

// restorePostgres loads a dump into the database at target with
// pg_restore. TicketFlow's schema must not exist there yet (or be empty).
func restorePostgres(ctx context.Context, target, dump, schema string) error {
	pgRestore, err := exec.LookPath("pg_restore")
	if err != nil {
		return errors.New("pg_restore is not installed: install the PostgreSQL client tools, or load the dump by hand as docs/OPERATIONS.md describes")
	}
	db, err := store.Open(ctx, store.Config{DatabaseURL: target, ReadConns: 1})
	if err != nil {
		return err
	}
	n, err := db.TablesIn(ctx, schema)
	db.Close()
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("schema %q of the target database already has %d tables: restore only into a database without TicketFlow's tables", schema, n)
	}
	dbURL, env, err := libpqURL(target)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, pgRestore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+dbURL, dump)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_restore: %v\n%s", err, out)
	}
	return nil
}

// withSearchPath returns the database URL with its search_path set to schema.
func withSearchPath(raw, schema string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// quoteArg quotes s for a POSIX shell, for commands shown to the operator.
func quoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
