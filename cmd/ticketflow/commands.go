package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("migrate", getenv, stderr)
	dbFlags(fs, &c)
	if err := fs.parse(args); err != nil {
		return err
	}
	log, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, &c, log, false)
	if err != nil && !strings.Contains(err.Error(), "pending") {
		return err
	}
	if db == nil {
		if db, err = openStore(ctx, &c, log, true); err != nil {
			return err
		}
		defer db.Close()
		v, _, _ := db.Pending(ctx)
		fmt.Fprintf(stdout, "Migrated the %s database to schema version %d.\n", db.Dialect(), v)
		return nil
	}
	defer db.Close()
	v, _, _ := db.Pending(ctx)
	fmt.Fprintf(stdout, "The %s database is up to date (schema version %d).\n", db.Dialect(), v)
	return nil
}

func runCreateAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c config
	var email, username string
	var fromStdin bool
	fs := newFlagSet("create-admin", getenv, stderr)
	dbFlags(fs, &c)
	fs.StringVar(&email, "email", "", "the admin's email (required)")
	fs.StringVar(&username, "username", "", "the admin's username (required)")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input (required)")
	c.AccessTTL = 15 * 60e9
	if err := fs.parse(args); err != nil {
		return err
	}
	if email == "" || username == "" || !fromStdin {
		return fmt.Errorf("%w: create-admin needs --email, --username and --password-stdin (passwords are never taken as arguments)", errUsage)
	}
	log, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	db, err := openStore(ctx, &c, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	sec, err := loadSecrets(ctx, db)
	if err != nil {
		return err
	}
	svc, err := newService(&c, db, noBlobs{}, sec, log, nil, nil)
	if err != nil {
		return err
	}
	u, res, err := svc.CreateAdmin(ctx, email, username, password)
	if err != nil {
		var e *desk.Error
		if errors.As(err, &e) && len(e.Fields) > 0 {
			var b strings.Builder
			for field, msgs := range e.Fields {
				fmt.Fprintf(&b, "\n  %s: %s", field, strings.Join(msgs, " "))
			}
			return fmt.Errorf("cannot create the admin:%s", b.String())
		}
		return err
	}
	switch res {
	case app.AdminCreated:
		fmt.Fprintf(stdout, "Created admin %q <%s>.\n", u.Username, u.Email)
	case app.AdminPromoted:
		fmt.Fprintf(stdout, "%q <%s> already existed and is now an active admin (password unchanged).\n", u.Username, u.Email)
	case app.AdminUnchanged:
		fmt.Fprintf(stdout, "%q <%s> is already an active admin; nothing changed.\n", u.Username, u.Email)
	}
	return nil
}
