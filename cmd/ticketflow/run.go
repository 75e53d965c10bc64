package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage error")

const usage = `TicketFlow — a self-hosted helpdesk.

Usage:
  ticketflow [serve] [flags]      run the server (the default)
  ticketflow migrate [flags]      apply pending database migrations
  ticketflow create-admin --email E --username U --password-stdin
                                  create (or promote) an administrator
  ticketflow seed --tickets N --users M
                                  fill an empty database with sample data
  ticketflow backup --out FILE    write a consistent snapshot (database and
                                  attachment files) while the server runs
  ticketflow restore --in FILE --data-dir DIR
                                  restore a backup into a new, empty directory
  ticketflow version              print the version

Run "ticketflow <command> -h" for a command's flags. Every flag can also be
set from the environment variable named in its help.
`

// run is the whole program; main only supplies the process's environment.
// Tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "create-admin":
		return runCreateAdmin(ctx, rest, getenv, stdin, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ticketflow", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// version returns the module version and VCS revision the binary was built
// from, when Go recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
