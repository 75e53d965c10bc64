package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/ncruces/go-sqlite3/driver"
)

// buildBinary compiles this command into a temporary directory and returns
// the executable's path: the crash tests kill a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ticketflow")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a ticketflow serve running as a child process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
	err    error // valid once exited is closed
}

// startProc starts bin serve with the given extra environment (and nothing
// of the test's own environment but PATH and HOME) and waits until it
// listens. The process is killed when the test ends.
func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill(t) })
	deadline := time.After(30 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited: %v\n%s", p.err, p.stderr)
		case <-deadline:
			t.Fatalf("server did not start:\n%s", p.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL (no shutdown, no flushing: a crash) and waits for the
// process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Logf("kill: %v", err)
	}
	<-p.exited
}

// sqlDB opens the server's database for the test's own read-only checks.
func sqlDB(t *testing.T, dataDir, pgURL string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if pgURL != "" {
		db, err = sql.Open("pgx", pgURL)
	} else {
		db, err = driver.Open("file:" + filepath.Join(dataDir, "ticketflow.db") + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// upload is a file sent with a ticket.
type upload struct {
	name string
	data []byte
}

func (u upload) sum() string {
	s := sha256.Sum256(u.data)
	return hex.EncodeToString(s[:])
}

// randomUpload returns size bytes of random content that sniffs as an
// accepted type: a PNG signature followed by noise, or lines of hex text.
func randomUpload(size int) upload {
	b := make([]byte, size)
	rand.Read(b)
	if size%2 == 0 && size > 16 {
		copy(b, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
		return upload{name: "shot.png", data: b}
	}
	t := []byte(hex.EncodeToString(b))[:size]
	for i := 63; i < len(t); i += 64 {
		t[i] = '\n'
	}
	return upload{name: "notes.txt", data: t}
}

// ticketForm is a multipart ticket with files.
func ticketForm(title, description string, files []upload) (string, *bytes.Buffer) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("title", title)
	mw.WriteField("category", "Technical")
	mw.WriteField("description", description)
	for _, f := range files {
		w, _ := mw.CreateFormFile("attachment", f.name)
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), &body
}

// createTicket posts a multipart ticket; a transport error is returned as
// err (the server may be gone), any answer as status and decoded body.
func createTicket(ctx context.Context, client *http.Client, base, token, title, description string, files []upload) (int, map[string]any, error) {
	ct, body := ticketForm(title, description, files)
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/tickets", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return res.StatusCode, nil, fmt.Errorf("decode %d answer: %w", res.StatusCode, err)
	}
	return res.StatusCode, m, nil
}

// download returns the sha256 of an attachment fetched through the API.
func download(client *http.Client, base, token string, id int64) (string, error) {
	req, _ := http.NewRequest("GET", base+"/api/attachments/"+strconv.FormatInt(id, 10)+"/download", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return "", fmt.Errorf("status %d", res.StatusCode)
	}
	h := sha256.New()
	if _, err := io.Copy(h, res.Body); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// registerAndLogin makes a regular user and returns an access token.
func registerAndLogin(t *testing.T, base, name string) string {
	t.Helper()
	pw := "Nouveau123!@#"
	if code, m := post(t, base+"/api/auth/register", map[string]string{"email": name + "@example.com", "username": name, "password": pw, "password2": pw}); code != 201 {
		t.Fatalf("register: %d %v", code, m)
	}
	code, m := post(t, base+"/api/auth/login", map[string]string{"username": name, "password": pw})
	if code != 200 {
		t.Fatalf("login: %d %v", code, m)
	}
	return m["access"].(string)
}
