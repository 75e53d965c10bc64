package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/store/storetest"
)

// createComment posts a multipart reply with files to a ticket.
func createComment(ctx context.Context, client *http.Client, base, token string, ticket int64, body string, files []upload) (int, map[string]any, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("body", body)
	for _, f := range files {
		w, _ := mw.CreateFormFile("attachment", f.name)
		w.Write(f.data)
	}
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/tickets/"+strconv.FormatInt(ticket, 10)+"/comments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	err = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m, err
}

// backedUp is a ticket and its replies as the test created them.
type backedUp struct {
	ticket   *sent
	comments []*sent // title holds the body
}

// runCmd runs a ticketflow command in-process and returns its output.
func runCmd(args ...string) (string, error) {
	var out, errOut syncBuffer
	err := run(context.Background(), append([]string{"ticketflow"}, args...), envFunc(), strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestBackupRestore backs up a running server while clients keep creating
// tickets, replies and files, restores the archive into a new directory,
// starts a server there, and finds every ticket acknowledged before the
// backup began, with its replies and byte-identical files; nothing in the
// restored directory is unreferenced. Damaged archives and non-empty
// targets are refused and restore nothing.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var pgURL string
			env := envFunc()
			if engine == "postgres" {
				pgURL = storetest.PostgresSchemaURL(t)
				env = envFunc("DATABASE_URL", pgURL)
			}
			dataDir := filepath.Join(t.TempDir(), "data")
			s := startServer(t, env, "--data-dir", dataDir, "--log-level", "warn")
			token := registerAndLogin(t, s.url, "backup")

			var mu sync.Mutex
			var done []backedUp
			stop := make(chan struct{})
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 30 * time.Second}
			for w := range 3 {
				wg.Go(func() {
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						b, err := createWithReplies(client, s.url, token, fmt.Sprintf("backup %d.%d", w, n))
						if err != nil {
							t.Errorf("load: %v", err)
							return
						}
						mu.Lock()
						done = append(done, b)
						mu.Unlock()
					}
				})
			}
			waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(done) >= 10 })
			mu.Lock()
			before := append([]backedUp(nil), done...) // acknowledged before the backup began
			mu.Unlock()
			archive := filepath.Join(t.TempDir(), "tf.tar.gz")
			args := []string{"backup", "--data-dir", dataDir, "--out", archive}
			if pgURL != "" {
				args = append(args, "--database-url", pgURL)
			}
			out, err := runCmd(args...)
			if err != nil {
				t.Fatalf("backup: %v\n%s", err, out)
			}
			if !strings.Contains(out, "Backed up the "+engine+" database") || !strings.Contains(out, "attachment files") {
				t.Errorf("backup said:\n%s", out)
			}
			if out, err := runCmd(args...); err == nil || !strings.Contains(out+err.Error(), "already exists") {
				t.Errorf("backup over an existing archive: %v %s", err, out)
			}
			waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(done) >= len(before)+3 })
			close(stop)
			wg.Wait()

			restored := filepath.Join(t.TempDir(), "restored")
			rargs := []string{"restore", "--in", archive, "--data-dir", restored}
			renv := envFunc()
			if pgURL != "" {
				target := freshDatabase(t)
				rargs = append(rargs, "--database-url", target)
				renv = envFunc("DATABASE_URL", withSearchPath(target, schemaOf(t, pgURL)))
			}
			if out, err := runCmd(rargs...); err != nil || !strings.Contains(out, "Restored the "+engine+" backup") {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			if out, err := runCmd(rargs...); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("restore into a non-empty directory: %v %s", err, out)
			}
			r := startServer(t, renv, "--data-dir", restored, "--log-level", "warn")
			for _, b := range before {
				checkBackedUp(t, client, r.url, token, b)
			}
			db := sqlDB(t, restored, renv("DATABASE_URL"))
			checkStorage(t, db, restored, nil)
			if problem := orphans(t, db, restored); problem != "" {
				t.Errorf("restored directory: %s", problem)
			}
			t.Logf("%s: %d tickets acknowledged before the backup, %d in all", engine, len(before), len(done))

			damaged(t, archive)
		})
	}
}

// damaged checks that broken archives restore nothing.
func damaged(t *testing.T, archive string) {
	t.Helper()
	good, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x5a
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"flipped byte": {flipped, "damaged"},
		"truncated":    {good[:len(good)/2], "damaged"},
		"altered file": {rewriteArchive(t, good, func(name string, b []byte) []byte {
			if strings.HasPrefix(name, "attachments/") {
				b[len(b)/2] ^= 1
			}
			return b
		}), "does not match its checksum"},
		"from a newer version": {rewriteArchive(t, good, func(name string, b []byte) []byte {
			if name == "manifest.json" {
				return bytes.Replace(b, []byte(`"schema_version": `), []byte(`"schema_version": 9999`), 1)
			}
			return b
		}), "newer than this TicketFlow knows"},
	}
	for name, c := range cases {
		in := filepath.Join(t.TempDir(), "bad.tar.gz")
		if err := os.WriteFile(in, c.b, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "target")
		out, err := runCmd("restore", "--in", in, "--data-dir", dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was restored") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: the target directory was left behind: %v", name, err)
		}
	}
}

// rewriteArchive rewrites a well-formed archive, passing each entry
// through edit; it fails the test unless edit changed something.
func rewriteArchive(t *testing.T, b []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	changed := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if nb := edit(hdr.Name, bytes.Clone(body)); !bytes.Equal(nb, body) {
			body, changed = nb, true
		}
		hdr.Size = int64(len(body))
		tw.WriteHeader(hdr)
		tw.Write(body)
	}
	tw.Close()
	gw.Close()
	if !changed {
		t.Fatal("nothing in the archive was changed")
	}
	return out.Bytes()
}

// createWithReplies creates a ticket with files and two replies, one with
// a file.
func createWithReplies(client *http.Client, base, token, title string) (backedUp, error) {
	ctx := context.Background()
	files := []upload{randomUpload(200 + len(title)*97%20000), randomUpload(1000 + len(title)*31%9000)}
	tk := &sent{title: title, description: "backed up " + title}
	for _, f := range files {
		tk.sums, tk.sizes = append(tk.sums, f.sum()), append(tk.sizes, len(f.data))
	}
	code, m, err := createTicket(ctx, client, base, token, tk.title, tk.description, files)
	if err != nil || code != 201 {
		return backedUp{}, fmt.Errorf("create ticket: %d %v %v", code, m, err)
	}
	tk.id = int64(m["id"].(float64))
	b := backedUp{ticket: tk}
	for i, f := range [][]upload{{randomUpload(3000)}, nil} {
		c := &sent{title: fmt.Sprintf("reply %d to %s", i, title)}
		for _, u := range f {
			c.sums, c.sizes = append(c.sums, u.sum()), append(c.sizes, len(u.data))
		}
		code, m, err := createComment(ctx, client, base, token, tk.id, c.title, f)
		if err != nil || code != 201 {
			return backedUp{}, fmt.Errorf("reply: %d %v %v", code, m, err)
		}
		c.id = int64(m["id"].(float64))
		b.comments = append(b.comments, c)
	}
	return b, nil
}

// checkBackedUp compares a restored ticket and its replies with what was
// created.
func checkBackedUp(t *testing.T, client *http.Client, base, token string, b backedUp) {
	t.Helper()
	checkAcknowledged(t, base, token, []*sent{b.ticket})
	code, m := get(t, base+"/api/tickets/"+strconv.FormatInt(b.ticket.id, 10)+"/comments", token)
	if code != 200 {
		t.Errorf("replies of %d: %d %v", b.ticket.id, code, m)
		return
	}
	res, _ := m["results"].([]any)
	if len(res) != len(b.comments) {
		t.Errorf("ticket %d has %d replies, want %d", b.ticket.id, len(res), len(b.comments))
		return
	}
	for i, r := range res {
		r := r.(map[string]any)
		want := b.comments[i]
		atts, _ := r["attachments"].([]any)
		if r["body"] != want.title || int64(r["id"].(float64)) != want.id || len(atts) != len(want.sums) {
			t.Errorf("reply %d of %d: %v, want %q with %d files", i, b.ticket.id, r, want.title, len(want.sums))
			continue
		}
		for j, a := range atts {
			sum, err := download(client, base, token, int64(a.(map[string]any)["id"].(float64)))
			if err != nil || sum != want.sums[j] {
				t.Errorf("reply %d of %d, file %d: %s %v, want %s", i, b.ticket.id, j, sum, err, want.sums[j])
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) || t.Failed() {
			t.Fatal("condition not reached")
		}
	}
}

// freshDatabase creates an empty PostgreSQL database for a restore and
// drops it when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := storetest.PostgresURL(t)
	admin := sqlOpen(base)
	name := "tf_restore_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// schemaOf returns the search_path of a test database URL.
func schemaOf(t *testing.T, pgURL string) string {
	t.Helper()
	i := strings.Index(pgURL, "search_path=")
	if i < 0 {
		t.Fatalf("no search_path in %s", pgURL)
	}
	s, _, _ := strings.Cut(pgURL[i+len("search_path="):], "&")
	return s
}
