package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"ticketflow/internal/desk"
	"ticketflow/internal/sample"
	"ticketflow/internal/store"
)

// result is one scenario's figures.
type result struct {
	Name       string
	Rate       float64 // successful requests per second
	P50, P95   time.Duration
	P99        time.Duration
	Errors     uint64
	Requests   uint64
	StatusHint string
	Note       string // what else ran meanwhile
	// Local is the hello ceiling measured just before the scenario (the
	// machine's speed drifts within a run).
	Local float64
	// LocalCPU is that hello server's CPU time per request.
	LocalCPU time.Duration
	// ServerCPU and ClientCPU are the CPU time per successful request of
	// the server under test and of this process (the load generator, and
	// a filing client if one runs); zero where not measured.
	ServerCPU, ClientCPU time.Duration
}

// attack runs targeter closed-loop with the given concurrency against
// srv (whose CPU time it reads; nil: not read).
func attack(ctx context.Context, name string, tr vegeta.Targeter, concurrency int, d time.Duration, srv *child) result {
	// MaxBody(0): every response is read to its end and dropped. Keeping
	// each body (vegeta's default) cost the load generator, on the same
	// two cores, more CPU than the server spent on a 12.5 KB list page.
	a := vegeta.NewAttacker(vegeta.Workers(uint64(concurrency)), vegeta.MaxWorkers(uint64(concurrency)),
		vegeta.Connections(concurrency), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.Redirects(-1),
		vegeta.MaxBody(0))
	var m vegeta.Metrics
	srv0, self0 := srv.cpu(), selfCPU()
	for res := range a.Attack(tr, vegeta.Rate{Freq: 0, Per: time.Second}, d, name) {
		m.Add(res)
		if ctx.Err() != nil {
			a.Stop()
		}
	}
	m.Close()
	srvUsed, selfUsed := srv.cpu()-srv0, selfCPU()-self0
	r := result{Name: name, Rate: m.Throughput, P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99, Requests: m.Requests}
	for code, n := range m.StatusCodes {
		if !strings.HasPrefix(code, "2") {
			r.Errors += uint64(n)
			r.StatusHint += fmt.Sprintf(" %s×%d", code, n)
		}
	}
	cpu := ""
	if ok := m.Requests - r.Errors; ok > 0 && srv != nil {
		r.ServerCPU, r.ClientCPU = srvUsed/time.Duration(ok), selfUsed/time.Duration(ok)
		cpu = fmt.Sprintf("  CPU/req server %v client %v", r.ServerCPU.Round(100*time.Nanosecond), r.ClientCPU.Round(100*time.Nanosecond))
	}
	fmt.Printf("  %-28s %9.0f req/s  p50 %-10v p99 %-10v errors %d%s%s\n", name, r.Rate, r.P50.Round(time.Microsecond),
		r.P99.Round(time.Microsecond), r.Errors, r.StatusHint, cpu)
	return r
}

func get(u string, hdr http.Header) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = "GET", u, hdr
		return nil
	}
}

func measureHello(ctx context.Context, o options, tmp string) (result, error) {
	fmt.Println("ceiling: bare net/http hello")
	c, err := start(o.hello, nil, filepath.Join(tmp, "hello.log"), "/", "-addr", "ADDR")
	if err != nil {
		return result{}, err
	}
	defer c.stop()
	attack(ctx, "warm-up", get(c.url+"/", nil), o.concurrency, time.Second, c)
	return attack(ctx, "hello", get(c.url+"/", nil), o.concurrency, o.duration, c), nil
}

// measureSizedHello measures the hello server answering with a body of
// size bytes.
func measureSizedHello(ctx context.Context, o options, tmp string, size int) (result, error) {
	fmt.Printf("ceiling for a %d-byte body: net/http hello\n", size)
	c, err := start(o.hello, nil, filepath.Join(tmp, "hello-sized.log"), "/", "-addr", "ADDR", "-size", fmt.Sprint(size))
	if err != nil {
		return result{}, err
	}
	defer c.stop()
	attack(ctx, "warm-up", get(c.url+"/", nil), o.concurrency, time.Second, c)
	return attack(ctx, fmt.Sprintf("hello, %d-byte body", size), get(c.url+"/", nil), o.concurrency, o.duration, c), nil
}

// bodySize returns the length of a GET's response body.
func bodySize(u string, hdr http.Header) (int, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header = hdr
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return len(b), err
}

// drainOutbox waits, up to two minutes, until no mail is pending. It
// returns how many were pending when it began and how long they took.
func drainOutbox(ctx context.Context, base string, hdr http.Header) (pending int, took time.Duration, err error) {
	t0 := time.Now()
	for polls := 0; ; polls++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/admin/outbox?status=pending&page_size=1", nil)
		req.Header = hdr
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return pending, 0, err
		}
		var body struct{ Count int }
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err == nil && res.StatusCode != http.StatusOK {
			err = errors.New(res.Status)
		}
		if err != nil {
			return pending, 0, fmt.Errorf("outbox: %v", err)
		}
		if polls == 0 {
			pending = body.Count
		}
		if body.Count == 0 {
			return pending, time.Since(t0), nil
		}
		if time.Since(t0) > 2*time.Minute {
			return pending, 0, fmt.Errorf("%d mails still pending after two minutes", body.Count)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listScenario names the admin's first list page.
const listScenario = "admin list (page 1)"

// report is one engine's measurements.
type report struct {
	Engine         string
	Startup        time.Duration
	ListBytes      int    // the admin list page's body
	SizedCeiling   result // hello answering with a body of ListBytes
	IdleRSS        float64
	AfterLoadRSS   float64
	UploadPeakRSS  float64
	UploadBaseline float64
	Warmed         int64         // bytes of database read into the page cache before each scenario
	WarmTook       time.Duration // and how long that took the first time
	WarmErr        string        // why reading it failed, if it did
	IndexAtStart   string        // the search index's segments before the first scenario
	Results        []result
}

func measureEngine(ctx context.Context, o options, engine, tmp string, ceiling result) (*report, error) {
	dataDir, env, err := seeded(ctx, o, engine)
	if err != nil {
		return nil, err
	}
	fmt.Printf("%s, %d tickets\n", engine, o.tickets)
	c, err := start(o.bin, env, filepath.Join(tmp, engine+".log"), "/readyz", "serve", "--addr", "ADDR", "--data-dir", dataDir,
		"--max-upload-mb", "10", "--registration", "open")
	if err != nil {
		return nil, err
	}
	defer c.stop()
	rep := &report{Engine: engine, Startup: c.took}
	time.Sleep(2 * time.Second) // let start-up housekeeping finish before reading idle memory
	rep.IdleRSS, _ = c.memory()
	// A previous run's last tickets may have left the search index in
	// segments that the server merges soon after it starts: every run
	// starts with the index under the server's threshold
	// (store.SearchMergeFrom), as a desk after a quiet minute.
	if rep.IndexAtStart = settleSearchIndex(ctx, engine, dataDir); rep.IndexAtStart != "" {
		fmt.Printf("  before the first scenario: %s\n", rep.IndexAtStart)
	}

	admin, err := login(c.url, "admin", "Sample-Admin-2026")
	if err != nil {
		return nil, err
	}
	user, err := login(c.url, "amira.adams1", "Sample-User-2026")
	if err != nil {
		user, err = firstUserToken(c.url, admin)
		if err != nil {
			return nil, err
		}
	}
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	// The list's body is large, and its size alone bounds the rate: the
	// same hello server answering with a body that size is the list's own
	// ceiling. The server under test idles meanwhile.
	if rep.ListBytes, err = bodySize(c.url+"/api/tickets", auth(admin)); err != nil {
		return nil, err
	}
	if rep.SizedCeiling, err = measureSizedHello(ctx, o, tmp, rep.ListBytes); err != nil {
		return nil, err
	}
	deep, err := deepCursor(ctx, o, engine, dataDir)
	if err != nil {
		return nil, err
	}
	// The hello server stays up for a short local ceiling before each
	// scenario; it idles while the scenario runs.
	hello, err := start(o.hello, nil, filepath.Join(tmp, "hello-local.log"), "/", "-addr", "ADDR")
	if err != nil {
		return nil, err
	}
	defer hello.stop()
	attack(ctx, "warm-up (hello)", get(hello.url+"/", nil), o.concurrency, time.Second, hello)
	// The targeters below share their headers (vegeta copies them into
	// each request) and build URLs without fmt: what the load generator
	// spends on a request is CPU the server under test does not get, and
	// hello's targeter spends nothing.
	var maxID int64 = int64(o.tickets)
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	adminAuth, ticketURL := auth(admin), c.url+"/api/tickets/"
	detail := func(t *vegeta.Target) error {
		mu.Lock()
		id := rng.Int64N(maxID) + 1
		mu.Unlock()
		t.Method, t.URL, t.Header = "GET", ticketURL+strconv.FormatInt(id, 10), adminAuth
		return nil
	}
	// New tickets look like the seeded ones (a short fixed text would make
	// every later run's first list page lighter than a real one).
	var createBodies [][]byte
	for _, tk := range sample.New(uint64(time.Now().UnixNano())).Tickets(1000, []desk.UserRef{{ID: 1}}, time.Now(), time.Now()) {
		b, _ := json.Marshal(map[string]string{"title": tk.Title, "description": tk.Description, "category": string(tk.Category)})
		createBodies = append(createBodies, b)
	}
	var next int
	createHeader := http.Header{"Authorization": {"Bearer " + user}, "Content-Type": {"application/json"}}
	createURL, loginURL := c.url+"/api/tickets", c.url+"/api/auth/login"
	create := func(t *vegeta.Target) error {
		mu.Lock()
		body := createBodies[next%len(createBodies)]
		next++
		mu.Unlock()
		t.Method, t.URL, t.Body, t.Header = "POST", createURL, body, createHeader
		return nil
	}
	loginBody, _ := json.Marshal(map[string]string{"username": "admin", "password": "Sample-Admin-2026"})
	loginHeader := http.Header{"Content-Type": {"application/json"}}
	loginT := func(t *vegeta.Target) error {
		t.Method, t.URL, t.Body, t.Header = "POST", loginURL, loginBody, loginHeader
		return nil
	}
	// "Forced reload": a request with Cache-Control: no-cache skips
	// TicketFlow's list-page cache, so the same page is read from the
	// database every time.
	reload := func(tok string) http.Header {
		h := auth(tok)
		h.Set("Cache-Control", "no-cache")
		return h
	}
	scenarios := []struct {
		name string
		tr   vegeta.Targeter
		// filing: tickets per second filed by another client meanwhile
		// (each one invalidates every cached page).
		filing int
		// writes: the scenario files tickets itself.
		writes bool
		// busyIndex: the search index as a desk that never pauses has
		// it. The filing starts as soon as the previous scenario (which
		// files thousands of tickets) ends, instead of waiting for the
		// server to merge the index, and goes on for busyLead before the
		// measurement, so that the server's tidying sees writes flowing.
		busyIndex bool
	}{
		{name: listScenario, tr: get(c.url+"/api/tickets", auth(admin))},
		{name: "admin list, forced reload", tr: get(c.url+"/api/tickets", reload(admin))},
		{name: fmt.Sprintf("admin list, %d tickets/s filed", filingRate), tr: get(c.url+"/api/tickets", auth(admin)), filing: filingRate},
		{name: "filtered list", tr: get(c.url+"/api/tickets?category=Financial&status=Under%20Review", auth(admin))},
		{name: "filtered list, forced reload", tr: get(c.url+"/api/tickets?category=Financial&status=Under%20Review", reload(admin))},
		{name: "user's own list", tr: get(c.url+"/api/tickets", auth(user))},
		{name: "search, rare term", tr: get(c.url+"/api/tickets?search=E0042", auth(admin))},
		{name: "search, common term", tr: get(c.url+"/api/tickets?search=please", auth(admin))},
		{name: "search, two words", tr: get(c.url+"/api/tickets?search=printer+jams", auth(admin))},
		{name: "deep page (cursor at 90%)", tr: get(c.url+"/api/tickets?cursor="+url.QueryEscape(deep), auth(admin))},
		{name: "ticket detail", tr: detail},
		{name: "create ticket", tr: create, writes: true},
		{name: busyScenario, tr: get(c.url+"/api/tickets?search=printer+jams", auth(admin)), filing: filingRate, busyIndex: true},
		{name: "login", tr: loginT},
	}
	// carried: the filing a busy-index scenario's predecessor started.
	var carried func() (filed, failed int)
	for i, s := range scenarios {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !o.wants(s.name) {
			continue
		}
		// The database is read into the page cache before every scenario:
		// this machine's kernel pages out file pages that have not been
		// read for about a minute (DAMON proactive reclaim), so without
		// it the later scenarios' random reads went to the disk. Then a
		// second of the same requests, unreported, as for the hello
		// ceiling: the previous scenario left other pages in SQLite's
		// caches and another heap size behind.
		t0 := time.Now()
		n, err := warm(ctx, o, engine, dataDir)
		if err != nil {
			fmt.Printf("  warning: could not read the database into the page cache: %v\n", err)
			if rep.WarmErr == "" {
				rep.WarmErr = err.Error()
			}
		}
		if rep.Warmed == 0 {
			rep.Warmed, rep.WarmTook = n, time.Since(t0)
		}
		local := attack(ctx, "hello, just before", get(hello.url+"/", nil), o.concurrency, localCeiling(o.duration), hello)
		stopFiling := carried
		carried = nil
		if s.filing > 0 && stopFiling == nil {
			stopFiling = fileTickets(c.url, user, createBodies, s.filing)
		}
		var indexNote string
		// Only SQLite's index has segments; PostgreSQL's GIN index has none.
		segmented := s.busyIndex && engine == "sqlite"
		if s.busyIndex {
			time.Sleep(busyLead)
		}
		if segmented {
			indexNote = "the search index was in " + segmentsNow(ctx, dataDir) + " segments when the measurement started"
		}
		attack(ctx, "warm-up", s.tr, o.concurrency, time.Second, c)
		r := attack(ctx, s.name, s.tr, o.concurrency, o.duration, c)
		r.Local, r.LocalCPU = local.Rate, local.ServerCPU
		if segmented {
			indexNote += " and in " + segmentsNow(ctx, dataDir) + " when it ended"
		}
		if stopFiling != nil {
			filed, failed := stopFiling()
			r.Note = fmt.Sprintf("meanwhile another client filed %d tickets (%d failed)", filed, failed)
			fmt.Printf("  meanwhile %d tickets filed, %d failed\n", filed, failed)
			r.Errors += uint64(failed)
		}
		if indexNote != "" {
			fmt.Printf("  %s\n", indexNote)
			r.Note = strings.TrimPrefix(r.Note+"; "+indexNote, "; ")
		}
		if s.filing > 0 || s.writes {
			if next := i + 1; next < len(scenarios) && scenarios[next].busyIndex && o.wants(scenarios[next].name) {
				carried = fileTickets(c.url, user, createBodies, scenarios[next].filing)
			} else if note := settleSearchIndex(ctx, engine, dataDir); note != "" {
				fmt.Printf("  %s\n", note)
				r.Note = strings.TrimPrefix(r.Note+"; "+note, "; ")
			}
		}
		rep.Results = append(rep.Results, r)
	}
	time.Sleep(time.Second)
	rep.AfterLoadRSS, _ = c.memory()
	// Each created ticket queued a mail to the admin; let the mailer
	// finish them, or the next start of this database would spend its
	// "idle" seconds (and memory) sending them.
	if pending, took, err := drainOutbox(ctx, c.url, auth(admin)); err != nil {
		fmt.Println("  warning: the next start of this database may send mail while idle:", err)
	} else if pending > 0 && took >= time.Second {
		// Shorter drains are mostly the polling interval.
		fmt.Printf("  the mailer sent the %d mails still pending after the runs in %v (%.0f per second)\n",
			pending, took.Round(10*time.Millisecond), float64(pending)/took.Seconds())
	}
	if len(o.only) > 0 {
		return rep, nil
	}
	// Uploads run on a fresh server, so that their peak is theirs and not
	// the read load's page caches.
	c.stop()
	fresh, err := start(o.bin, env, filepath.Join(tmp, engine+"-uploads.log"), "/readyz", "serve", "--addr", "ADDR", "--data-dir", dataDir,
		"--max-upload-mb", "10", "--registration", "open")
	if err != nil {
		return nil, err
	}
	defer fresh.stop()
	time.Sleep(2 * time.Second)
	rep.UploadBaseline, rep.UploadPeakRSS, err = uploads(fresh, user)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// localCeiling is how long the hello ceiling is measured before each
// scenario: long enough for a rate, short beside the scenario.
func localCeiling(d time.Duration) time.Duration { return min(3*time.Second, d) }

// busyScenario searches while tickets are filed without a pause.
const busyScenario = "search, two words, busy desk"

// busyLead is how long the busy-desk scenario files tickets before it
// measures: longer than the server's tidying interval (10 s), so that it
// has looked at the index at least once while writes were flowing.
const busyLead = 12 * time.Second

// filingRate is how many tickets per second the mixed list scenario files
// (far more than any internal desk: 20/s is 1.7 million a day).
const filingRate = 20

// fileTickets files tickets at rate per second, one at a time, until the
// returned function is called; it returns how many were filed and failed.
func fileTickets(base, token string, bodies [][]byte, rate int) func() (filed, failed int) {
	done := make(chan struct{})
	var filed, failed int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			req, _ := http.NewRequest("POST", base+"/api/tickets", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			if err != nil || res.StatusCode != http.StatusCreated {
				failed++
			} else {
				filed++
			}
		}
	}()
	return func() (int, int) {
		close(done)
		wg.Wait() // the counts are the goroutine's until it has ended
		return filed, failed
	}
}

func login(base, username, password string) (string, error) {
	b, _ := json.Marshal(map[string]string{"username": username, "password": password})
	res, err := http.Post(base+"/api/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
		return "", fmt.Errorf("login %s: %d %v", username, res.StatusCode, m)
	}
	return m["access"].(string), nil
}

// firstUserToken logs in as the first sample user (their name depends on
// the seed).
func firstUserToken(base, admin string) (string, error) {
	req, _ := http.NewRequest("GET", base+"/api/users?role=user&page_size=1", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var m struct {
		Results []struct{ Username string }
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || len(m.Results) == 0 {
		return "", fmt.Errorf("no sample user found")
	}
	return login(base, m.Results[0].Username, "Sample-User-2026")
}

// settleSearchIndex waits, on SQLite, until the server has merged the
// search index segments that a scenario's tickets added (see
// store.TidySearchIndex: it merges from store.SearchMergeFrom segments
// on, once no ticket has been filed for a second), so that the next
// scenario does not share the machine with the merge (the last steps of a
// merge may still run once the count is under that). It returns what it
// saw, for the report ("" on PostgreSQL).
func settleSearchIndex(ctx context.Context, engine, dataDir string) string {
	if engine != "sqlite" {
		return ""
	}
	db, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(dataDir, "ticketflow.db")})
	if err != nil {
		return "search index not checked: " + err.Error()
	}
	defer db.Close()
	start := time.Now()
	first := -1
	for {
		n, err := db.SearchSegments(ctx)
		if err != nil {
			return "search index not checked: " + err.Error()
		}
		if first < 0 {
			first = n
		}
		switch {
		case n < store.SearchMergeFrom && first < store.SearchMergeFrom:
			return fmt.Sprintf("the search index was in %d segments (the server merges it from %d on)", n, store.SearchMergeFrom)
		case n < store.SearchMergeFrom:
			return fmt.Sprintf("the search index was in %d segments; the server merged it into %d within %.0f s", first, n, time.Since(start).Seconds())
		case time.Since(start) > 5*time.Minute:
			// The server waits twenty times its last merge's work before
			// the next one.
			return fmt.Sprintf("the search index was in %d segments and still in %d 5 minutes later", first, n)
		}
		select {
		case <-ctx.Done():
			return "search index not checked: " + ctx.Err().Error()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// segmentsNow counts the SQLite search index's segments ("?" if it
// cannot).
func segmentsNow(ctx context.Context, dataDir string) string {
	db, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(dataDir, "ticketflow.db")})
	if err != nil {
		return "?"
	}
	defer db.Close()
	n, err := db.SearchSegments(ctx)
	if err != nil {
		return "?"
	}
	return strconv.Itoa(n)
}

// deepCursor returns a cursor positioned 90% of the way down the default
// (newest first) ordering, read straight from the database.
func deepCursor(ctx context.Context, o options, engine, dataDir string) (string, error) {
	cfg := store.Config{SQLitePath: filepath.Join(dataDir, "ticketflow.db")}
	if engine == "postgres" {
		cfg = store.Config{DatabaseURL: pgSchemaURL(o)}
	}
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer db.Close()
	c, err := db.CursorAt(ctx, store.OrderNewest, o.tickets*9/10)
	if err != nil {
		return "", err
	}
	return c.Encode(), nil
}

// uploads sends ten 10 MB attachments at once and returns the server's RSS
// before and its peak during them.
func uploads(c *child, token string) (base, peak float64, err error) {
	file := make([]byte, 10<<20-1024)
	copy(file, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	time.Sleep(500 * time.Millisecond) // let the heap settle after the load runs
	base, _ = c.memory()
	if err := c.resetPeak(); err != nil {
		return 0, 0, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			go func() {
				mw.WriteField("title", fmt.Sprintf("upload %d", i))
				mw.WriteField("category", "Technical")
				mw.WriteField("description", "ten concurrent 10 MB uploads")
				fw, _ := mw.CreateFormFile("attachment", "big.png")
				fw.Write(file)
				pw.CloseWithError(mw.Close())
			}()
			req, _ := http.NewRequest("POST", c.url+"/api/tickets", pr)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				errs <- fmt.Errorf("upload: %d", res.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		return 0, 0, e
	}
	_, peak = c.memory()
	fmt.Printf("  10 concurrent 10 MB uploads: RSS %.1f MiB before, peak %.1f MiB\n", base, peak)
	return base, peak, nil
}

// wants reports whether the scenario is to run (see -only).
func (o options) wants(name string) bool {
	if len(o.only) == 0 {
		return true
	}
	for _, f := range o.only {
		if strings.Contains(name, f) {
			return true
		}
	}
	return false
}
