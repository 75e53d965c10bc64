package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ticketflow/internal/store/storetest"
)

// sent is what the test knows about one ticket it tried to create: its
// fields and the checksums of its files, in upload order.
type sent struct {
	id          int64 // from the 201 answer; 0 when not acknowledged
	title       string
	description string
	sums        []string
	sizes       []int
}

// crashCycles is how many times each engine's server is killed.
func crashCycles() int {
	if n, err := strconv.Atoi(os.Getenv("TICKETFLOW_CRASH_CYCLES")); err == nil && n > 0 {
		return n
	}
	return 20
}

// TestCrashConsistency kills a real server with SIGKILL while several
// clients create tickets with attachments, restarts it on the same data,
// and checks that nothing acknowledged was lost and nothing half-written
// remains: every acknowledged ticket is there with its fields and byte-for-
// byte identical files, every attachment row has its blob, every ticket
// that exists (acknowledged or not) has all of its files, and once orphans
// are collected no file lies in the data directory without a row.
func TestCrashConsistency(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			var env []string
			pgURL := ""
			if engine == "postgres" {
				pgURL = storetest.PostgresSchemaURL(t)
				env = append(env, "DATABASE_URL="+pgURL)
			}
			args := []string{"--data-dir", dataDir, "--log-level", "warn"}
			p := startProc(t, bin, env, args...)
			token := registerAndLogin(t, p.url, "crash")
			db := sqlDB(t, dataDir, pgURL)
			tried := map[string]*sent{} // by title
			var acked []*sent
			cycles := crashCycles()
			for cycle := range cycles {
				got := loadAndKill(t, p, token, cycle)
				for _, s := range got {
					tried[s.title] = s
					if s.id != 0 {
						acked = append(acked, s)
					}
				}
				p = startProc(t, bin, env, args...)
				checkAcknowledged(t, p.url, token, got)
				checkStorage(t, db, dataDir, tried)
				if pgURL != "" {
					// On PostgreSQL, start-up collects only uploads reserved over
					// an hour ago (other instances may be mid-upload). Every
					// leftover must be reserved, so that it will be; then run
					// the same collection now that nothing is in flight.
					if problem := untracked(t, db, dataDir); problem != "" {
						t.Error(problem)
					}
					collectOrphansNow(t, env, args...)
				}
				waitNoOrphans(t, db, dataDir)
				if t.Failed() {
					t.Fatalf("cycle %d failed; server log:\n%s", cycle, p.stderr)
				}
			}
			checkAcknowledged(t, p.url, token, acked)
			t.Logf("%s: %d kill cycles, %d tickets tried, %d acknowledged", engine, cycles, len(tried), len(acked))
		})
	}
}

// loadAndKill runs four clients creating tickets against p until, at a
// random moment after the first acknowledgement, the server is killed. It
// returns every ticket tried, acknowledged or not.
func loadAndKill(t *testing.T, p *proc, token string, cycle int) []*sent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu     sync.Mutex
		out    []*sent
		acks   atomic.Int32
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				s := &sent{title: fmt.Sprintf("crash %d.%d.%d", cycle, w, n), description: "d" + strconv.Itoa(rand.IntN(1e9))}
				var files []upload
				for range 1 + rand.IntN(3) {
					f := randomUpload(100 + rand.IntN(48<<10))
					files = append(files, f)
					s.sums, s.sizes = append(s.sums, f.sum()), append(s.sizes, len(f.data))
				}
				mu.Lock()
				out = append(out, s)
				mu.Unlock()
				code, m, err := createTicket(ctx, client, p.url, token, s.title, s.description, files)
				if killed.Load() {
					if err == nil && code == 201 {
						s.id = int64(m["id"].(float64)) // answered before it died
					}
					return
				}
				if err != nil || code != 201 {
					t.Errorf("create ticket with the server up: %d %v %v", code, err, m)
					return
				}
				s.id = int64(m["id"].(float64))
				acks.Add(1)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for acks.Load() == 0 && !t.Failed() {
		if time.Now().After(deadline) {
			t.Fatalf("no ticket acknowledged in 30 s:\n%s", p.stderr)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(250)) * time.Millisecond)
	killed.Store(true)
	p.kill(t)
	cancel()
	wg.Wait()
	return out
}

// checkAcknowledged fetches every acknowledged ticket through the API and
// compares its fields and the bytes of its files with what was sent.
func checkAcknowledged(t *testing.T, base, token string, tickets []*sent) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	for _, s := range tickets {
		if s.id == 0 {
			continue
		}
		code, m := get(t, base+"/api/tickets/"+strconv.FormatInt(s.id, 10), token)
		if code != 200 {
			t.Errorf("acknowledged ticket %d (%s) is gone: %d %v", s.id, s.title, code, m)
			continue
		}
		if m["title"] != s.title || m["description"] != s.description || m["category"] != "Technical" {
			t.Errorf("ticket %d: fields %q %q %q, sent %q %q", s.id, m["title"], m["description"], m["category"], s.title, s.description)
		}
		atts, _ := m["attachments"].([]any)
		if len(atts) != len(s.sums) {
			t.Errorf("ticket %d has %d attachments, sent %d", s.id, len(atts), len(s.sums))
			continue
		}
		for i, a := range atts {
			a := a.(map[string]any)
			sum, err := download(client, base, token, int64(a["id"].(float64)))
			if err != nil || sum != s.sums[i] || int(a["size"].(float64)) != s.sizes[i] {
				t.Errorf("ticket %d file %d: size %v sha256 %s %v, sent %d %s", s.id, i, a["size"], sum, err, s.sizes[i], s.sums[i])
			}
		}
	}
}

// checkStorage reads the database and the attachment directory directly:
// every attachment row's blob exists with the recorded size and checksum,
// and every ticket the test tried that exists has exactly the files sent
// with it (a ticket and its files commit together or not at all).
func checkStorage(t *testing.T, db *sql.DB, dataDir string, tried map[string]*sent) {
	t.Helper()
	rows, err := db.Query(`SELECT t.title, a.blob_key, a.size, a.sha256 FROM attachments a JOIN tickets t ON t.id = a.ticket_id ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	files := map[string][]string{} // title → sums in order
	for rows.Next() {
		var title, key, sum string
		var size int64
		if err := rows.Scan(&title, &key, &size, &sum); err != nil {
			t.Fatal(err)
		}
		got, n, err := fileSum(filepath.Join(dataDir, "attachments", filepath.FromSlash(key)))
		if err != nil || got != sum || n != size {
			t.Errorf("attachment %s of %q: on disk %d bytes sha256 %s (%v), row says %d %s", key, title, n, got, err, size, sum)
		}
		files[title] = append(files[title], got)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	trows, err := db.Query(`SELECT title FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	defer trows.Close()
	for trows.Next() {
		var title string
		if err := trows.Scan(&title); err != nil {
			t.Fatal(err)
		}
		if s := tried[title]; s != nil && !slices.Equal(files[title], s.sums) {
			t.Errorf("ticket %q (acknowledged: %v) has files %v, was sent %v", title, s.id != 0, files[title], s.sums)
		}
	}
}

// waitNoOrphans waits until housekeeping has removed every upload that no
// committed attachment references: no reservations left, no file (and no
// temporary file) in the attachment directory without a row.
func waitNoOrphans(t *testing.T, db *sql.DB, dataDir string) {
	t.Helper()
	var problem string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if problem = orphans(t, db, dataDir); problem == "" {
			return
		}
	}
	t.Errorf("orphaned uploads were not collected: %s", problem)
}

// orphans describes what is left of uploads that no attachment row
// references ("" if nothing); ignore names files the test put there itself.
func orphans(t *testing.T, db *sql.DB, dataDir string, ignore ...string) string {
	var intents int
	if err := db.QueryRow(`SELECT count(*) FROM blob_intents`).Scan(&intents); err != nil {
		t.Fatal(err)
	}
	if intents > 0 {
		return strconv.Itoa(intents) + " upload reservation(s) left"
	}
	keys := map[string]bool{}
	rows, err := db.Query(`SELECT blob_key FROM attachments`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys[k] = true
	}
	root := filepath.Join(dataDir, "attachments")
	var stray []string
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !keys[filepath.ToSlash(rel)] && !slices.Contains(ignore, rel) {
			stray = append(stray, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stray) > 0 {
		return "files without an attachment row: " + strings.Join(stray, ", ")
	}
	return ""
}

// untracked describes files in the attachment directory that neither an
// attachment row nor an upload reservation accounts for: nothing would
// ever collect them. A temporary file belongs to the key it is named after.
func untracked(t *testing.T, db *sql.DB, dataDir string) string {
	t.Helper()
	known := map[string]bool{}
	for _, q := range []string{`SELECT blob_key FROM attachments`, `SELECT blob_key FROM blob_intents`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			known[k] = true
		}
		rows.Close()
	}
	root := filepath.Join(dataDir, "attachments")
	var lost []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		key := filepath.ToSlash(rel)
		if name, ok := strings.CutPrefix(e.Name(), ".tmp-"); ok {
			if i := strings.LastIndexByte(name, '.'); i > 0 {
				key = path.Join(path.Dir(key), name[:i])
			}
		}
		if !known[key] {
			lost = append(lost, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		return "files no row or reservation accounts for: " + strings.Join(lost, ", ")
	}
	return ""
}

func fileSum(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// collectOrphansNow runs the housekeeping's orphan collection in the test
// process, wired exactly as serve wires it, treating every reservation as
// abandoned (call it only while no upload is in flight).
func collectOrphansNow(t *testing.T, env []string, args ...string) {
	t.Helper()
	kv := []string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		kv = append(kv, k, v)
	}
	var c config
	fs := newFlagSet("serve", envFunc(kv...), io.Discard)
	serveFlags(fs, &c)
	if err := fs.parse(args); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := openStore(ctx, &c, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sec, err := loadSecrets(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := openBlobs(ctx, &c)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(&c, db, blobs, sec, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CollectOrphans(ctx, 0); err != nil {
		t.Fatal(err)
	}
}
