// Command sse measures TicketFlow's live streams: it starts a server in a
// child process (SQLite in a temporary directory), opens many real SSE
// connections to it over loopback, posts replies, and reports delivery
// latency (commit → client read) and the server's memory.
//
//	go run ./bench/sse -admins 500 -users 500 -events 200
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
	"ticketflow/internal/realtime"
	"ticketflow/internal/store"
	"ticketflow/internal/web"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sse:", err)
		os.Exit(1)
	}
}

const password = "bench-password-1234"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	child := fs.String("child", "", "internal: serve from this data directory")
	admins := fs.Int("admins", 500, "admin streams (each receives every event)")
	users := fs.Int("users", 500, "user streams (each receives its own ticket's events)")
	events := fs.Int("events", 200, "replies to post")
	every := fs.Duration("every", 20*time.Millisecond, "pause between replies")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *child != "" {
		return serve(ctx, *child, *admins, *users, stdin, stdout)
	}
	return measure(ctx, args[0], *admins, *users, *events, *every, stdout, stderr)
}

// serve is the child: a TicketFlow server with admins+users accounts,
// one ticket per user, until stdin closes.
func serve(ctx context.Context, dir string, admins, users int, stdin io.Reader, stdout io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(dir, "db")})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	blobs, err := blob.NewDisk(filepath.Join(dir, "blobs"))
	if err != nil {
		return err
	}
	hub := realtime.NewHub(realtime.Config{Log: log})
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	go hub.Run(hctx)
	issuer, _ := auth.NewIssuer([]byte(strings.Repeat("b", 32)), time.Hour, time.Now)
	hasher := auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 4) // logins are not what is measured
	svc, err := app.New(app.Config{}, app.Deps{Store: db, Blobs: blobs, Hasher: hasher, Issuer: issuer, Log: log, Events: hub, Presence: hub})
	if err != nil {
		return err
	}
	hash, _ := hasher.Hash(ctx, password)
	for i := 0; i < admins+users; i++ {
		role, name := desk.RoleAdmin, "admin"+strconv.Itoa(i)
		if i >= admins {
			role, name = desk.RoleUser, "user"+strconv.Itoa(i)
		}
		u := &desk.User{Email: name + "@example.com", Username: name, PasswordHash: hash, Role: role, Active: true, DateJoined: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			return err
		}
		if role == desk.RoleUser {
			if _, err := svc.CreateTicket(ctx, u, desk.NewTicket{Title: "t" + name, Description: "d", Category: "Technical"}, nil); err != nil {
				return err
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: web.NewServer(web.Config{Hub: hub, URLKey: []byte(strings.Repeat("u", 32))}, log, svc)}
	go srv.Serve(ln)
	fmt.Fprintln(stdout, "http://"+ln.Addr().String())
	_, _ = io.Copy(io.Discard, stdin) // until the parent is done
	hub.Close()
	return srv.Close()
}

func measure(ctx context.Context, self string, admins, users, events int, every time.Duration, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "tf-sse-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, self, "-child", dir, "-admins", strconv.Itoa(admins), "-users", strconv.Itoa(users))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("child: %w", err)
	}
	base := strings.TrimSpace(line)
	pid := cmd.Process.Pid
	rss0 := rssKiB(pid)

	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr}
	n := admins + users
	tokens := make([]string, n)
	tickets := make([]int64, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var loginErr error
	var mu sync.Mutex
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := "admin" + strconv.Itoa(i)
			if i >= admins {
				name = "user" + strconv.Itoa(i)
			}
			tok, err := login(client, base, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				loginErr = err
			}
			tokens[i] = tok
		}()
	}
	wg.Wait()
	if loginErr != nil {
		return loginErr
	}
	// The users' ticket ids, in order (user i owns ticket i-admins+1).
	for i := admins; i < n; i++ {
		tickets[i] = int64(i - admins + 1)
	}

	// Connect every stream (each on its own TCP connection).
	type result struct {
		lat   []time.Duration
		got   atomic.Int64
		ended atomic.Bool // the server closed the stream (dropped as slow)
	}
	results := make([]result, n)
	ready := make(chan struct{}, n)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var streams sync.WaitGroup
	connectStart := time.Now()
	for i := 0; i < n; i++ {
		streams.Add(1)
		go func() {
			defer streams.Done()
			st := &http.Transport{DisableKeepAlives: true}
			req, _ := http.NewRequestWithContext(sctx, "GET", base+"/api/events", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			res, err := (&http.Client{Transport: st}).Do(req)
			if err != nil || res.StatusCode != 200 {
				fmt.Fprintln(stderr, "stream:", err, res)
				ready <- struct{}{}
				return
			}
			defer res.Body.Close()
			ready <- struct{}{}
			defer func() {
				if sctx.Err() == nil {
					results[i].ended.Store(true)
				}
			}()
			sc := bufio.NewScanner(res.Body)
			comment := false
			for sc.Scan() {
				b := sc.Bytes()
				switch {
				case len(b) > 7 && string(b[:7]) == "event: ":
					comment = string(b[7:]) == "comment.created"
				case comment && len(b) > 6 && string(b[:6]) == "data: ":
					now := time.Now()
					var d struct {
						Comment struct {
							CreatedAt time.Time `json:"created_at"`
						} `json:"comment"`
					}
					if json.Unmarshal(b[6:], &d) == nil {
						results[i].lat = append(results[i].lat, now.Sub(d.Comment.CreatedAt))
						results[i].got.Add(1)
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-ready
	}
	connected := time.Since(connectStart)
	time.Sleep(500 * time.Millisecond) // let presence announcements settle
	rss1 := rssKiB(pid)

	// Post replies as admin0, round-robin over the users' tickets.
	postStart := time.Now()
	want := 0
	for k := 0; k < events; k++ {
		t := tickets[admins+k%users]
		if err := reply(client, base, tokens[0], t, "reply "+strconv.Itoa(k)); err != nil {
			return err
		}
		want += admins + 1
		time.Sleep(every)
	}
	posted := time.Since(postStart)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, dropped := 0, 0
		for i := range results {
			got += int(results[i].got.Load())
			if results[i].ended.Load() {
				dropped++
			}
		}
		if got >= want || dropped > 0 && time.Now().After(postStart.Add(posted+2*time.Second)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	rss2, hwm := rssKiB(pid), hwmKiB(pid)
	cancel()
	streams.Wait()

	var all []time.Duration
	dropped := 0
	for i := range results {
		all = append(all, results[i].lat...)
		if results[i].ended.Load() {
			dropped++
		}
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))].Round(10 * time.Microsecond)
	}
	fmt.Fprintf(stdout, "streams: %d SSE connections over loopback (%d admin, %d user), connected in %v\n", n, admins, users, connected.Round(time.Millisecond))
	fmt.Fprintf(stdout, "server RSS: %d KiB before streams, %d KiB with streams (%.1f KiB per stream), %d KiB after delivery, peak %d KiB\n",
		rss0, rss1, float64(rss1-rss0)/float64(n), rss2, hwm)
	fmt.Fprintf(stdout, "events: %d replies in %v, %d of %d deliveries received; %d streams dropped as too slow\n",
		events, posted.Round(time.Millisecond), len(all), want, dropped)
	fmt.Fprintf(stdout, "latency commit→client: p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if len(all) < want && dropped == 0 {
		return errors.New("deliveries lost without a stream being dropped")
	}
	return nil
}

func login(c *http.Client, base, name string) (string, error) {
	res, err := c.Post(base+"/api/auth/login", "application/json", strings.NewReader(`{"username":"`+name+`","password":"`+password+`"}`))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var m struct{ Access string }
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || m.Access == "" {
		return "", fmt.Errorf("login %s: %d %v", name, res.StatusCode, err)
	}
	return m.Access, nil
}

func reply(c *http.Client, base, token string, ticket int64, body string) error {
	req, _ := http.NewRequest("POST", base+"/api/tickets/"+strconv.FormatInt(ticket, 10)+"/comments", strings.NewReader(`{"body":"`+body+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		return fmt.Errorf("reply: %d", res.StatusCode)
	}
	return nil
}

func procStatus(pid int, key string) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

func rssKiB(pid int) int { return procStatus(pid, "VmRSS") }
func hwmKiB(pid int) int { return procStatus(pid, "VmHWM") }
