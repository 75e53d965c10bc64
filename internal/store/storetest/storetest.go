// Package storetest gives tests a migrated, empty store on every engine:
// a SQLite file under t.TempDir() and a fresh PostgreSQL schema.
//
// PostgreSQL is found at $TICKETFLOW_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When it is
// unreachable the test is skipped locally and fails when $CI is set.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"ticketflow/internal/store"
)

// DefaultPostgresURL is used when $TICKETFLOW_TEST_POSTGRES is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Engine names a store engine under test.
type Engine struct {
	Name string
	Open func(t testing.TB) *store.DB
}

// Engines returns both engines. Run a test on each with
//
//	for _, e := range storetest.Engines() { t.Run(e.Name, func(t *testing.T) { db := e.Open(t); ... }) }
func Engines() []Engine {
	return []Engine{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// SQLite returns a migrated store in a new file under t.TempDir().
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, store.Config{SQLitePath: filepath.Join(t.TempDir(), "ticketflow.db")})
}

// Open returns a store opened with cfg and migrated, closed when the test
// ends.
func Open(t testing.TB, cfg store.Config) *store.DB {
	t.Helper()
	return open(t, cfg)
}

// Postgres returns a migrated store in a new schema that is dropped when the
// test ends.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	u := PostgresSchemaURL(t)
	return open(t, store.Config{DatabaseURL: u, ReadConns: 8})
}

// PostgresSchemaURL creates a fresh schema, registers its removal with
// t.Cleanup, and returns a URL whose connections use it.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "tf_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// PostgresURL returns the server's URL after checking that it answers.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TICKETFLOW_TEST_POSTGRES")
	if u == "" {
		u = DefaultPostgresURL
	}
	db, err := sql.Open("pgx", u)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI but unreachable at %s: %v", u, err)
		}
		t.Skipf("PostgreSQL unreachable at %s (set CI=true to make this fail): %v", u, err)
	}
	return u
}

func open(t testing.TB, cfg store.Config) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
