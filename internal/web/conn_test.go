package web

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingListener records the size of every write made to the
// connections it accepts.
type countingListener struct {
	net.Listener
	mu       sync.Mutex
	writes   []int
	accepted int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.accepted++
	l.mu.Unlock()
	return &countingConn{Conn: c, l: l}, nil
}

func (l *countingListener) count() (writes []int, accepted int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.writes...), l.accepted
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, len(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// serveCounting serves h on loopback, through WrapListener and ConnContext
// when wrap is set, and returns its address and write counter.
func serveCounting(t *testing.T, h http.Handler, wrap bool) (string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: h}
	var served net.Listener = cl
	if wrap {
		served, srv.ConnContext = WrapListener(cl), ConnContext
	}
	go func() { _ = srv.Serve(served) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), cl
}

func TestOneWriteResponses(t *testing.T) {
	body := func(n int) []byte { // valid JSON of about n bytes, newline-terminated
		return []byte(`{"text":"` + strings.Repeat("x", n) + `"}` + "\n")
	}
	// 13 KB leaves net/http's buffer in two writes; of 6 KB, 2 KB stay in
	// the buffer until the response ends.
	big, mid, small, huge := body(13000), body(6000), body(200), body(maxHeld+100000)
	file := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	streamed := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, r, http.StatusOK, big) })
	mux.HandleFunc("/mid", func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, r, http.StatusOK, mid) })
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, r, http.StatusOK, small) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, r, http.StatusOK, huge) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Time{}, bytes.NewReader(file))
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		_ = http.NewResponseController(w).Flush()
		select { // the client must see the first part before the second is written
		case <-streamed:
		case <-time.After(10 * time.Second):
		}
		_, _ = io.WriteString(w, "second\n")
	})
	// Logged and wrapped as the server's handlers are (statusWriter and
	// jsonErrorWriter sit between the handler and net/http).
	handler := logRequests(slog.New(slog.DiscardHandler), apiErrors(mux))

	get := func(t *testing.T, client *http.Client, url string) []byte {
		t.Helper()
		res, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
		}
		return b
	}

	t.Run("without the wrapper net/http writes a large body twice", func(t *testing.T) {
		url, cl := serveCounting(t, handler, false)
		client := &http.Client{Transport: &http.Transport{}}
		for _, tc := range []struct {
			path string
			want []byte
		}{{"/big", big}, {"/mid", mid}} {
			before, _ := cl.count()
			if got := get(t, client, url+tc.path); !bytes.Equal(got, tc.want) {
				t.Fatalf("%s: body differs: %d bytes, want %d", tc.path, len(got), len(tc.want))
			}
			if after, _ := cl.count(); len(after)-len(before) < 2 {
				t.Fatalf("%s: writes %v: expected net/http to split the response (what WrapListener exists to avoid)", tc.path, after[len(before):])
			}
		}
	})

	url, cl := serveCounting(t, handler, true)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for _, tc := range []struct {
		path string
		want []byte
	}{{"/big", big}, {"/mid", mid}, {"/small", small}, {"/big", big}} {
		before, _ := cl.count()
		if got := get(t, client, url+tc.path); !bytes.Equal(got, tc.want) {
			t.Fatalf("%s: body differs: %d bytes, want %d", tc.path, len(got), len(tc.want))
		}
		after, _ := cl.count()
		if n := len(after) - len(before); n != 1 || after[len(after)-1] <= len(tc.want) {
			t.Errorf("%s: writes %v for a %d-byte body: want one write with headers and body", tc.path, after[len(before):], len(tc.want))
		}
	}
	if got := get(t, client, url+"/huge"); !bytes.Equal(got, huge) {
		t.Fatalf("/huge: body differs: %d bytes, want %d", len(got), len(huge))
	}
	if got := get(t, client, url+"/file"); !bytes.Equal(got, file) {
		t.Fatalf("/file: body differs: %d bytes, want %d", len(got), len(file))
	}

	res, err := client.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		b := make([]byte, len("first\n"))
		_, _ = io.ReadFull(res.Body, b)
		first <- string(b)
	}()
	select {
	case got := <-first:
		if got != "first\n" {
			t.Fatalf("stream began %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a flushed part of a streamed response was held back")
	}
	close(streamed)
	rest, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("stream ended %q, %v", rest, err)
	}
	if got := get(t, client, url+"/big"); !bytes.Equal(got, big) {
		t.Fatal("/big after the stream: body differs")
	}
	if _, accepted := cl.count(); accepted != 1 {
		t.Errorf("%d connections accepted: every response should have kept the connection open", accepted)
	}
}
