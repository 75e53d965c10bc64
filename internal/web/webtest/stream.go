package webtest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one Server-Sent Event as a client sees it.
type Event struct {
	ID   string
	Name string
	Data map[string]any
	Raw  string
}

// Stream is an open SSE connection read by a goroutine.
type Stream struct {
	Status int
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
}

// Stream opens an event stream over real HTTP as token's user (hdr are
// extra header name/value pairs, e.g. Last-Event-ID). It returns once the
// response headers are in; the stream closes when the test ends.
func (e *Env) Stream(t testing.TB, path, token string, hdr ...string) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &Stream{Status: res.StatusCode, events: make(chan Event, 1024), cancel: cancel, done: make(chan struct{})}
	t.Cleanup(s.Close)
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			return
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev Event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					_ = json.Unmarshal([]byte(ev.Raw), &ev.Data)
					s.events <- ev
				}
				ev = Event{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Raw = line[6:]
			}
		}
	}()
	return s
}

// Next returns the next event, failing the test if the stream ends first.
// The wait is a guard against hangs, not a timing assertion.
func (s *Stream) Next(t testing.TB) Event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

// NextReal returns the next event that is not a presence update (those
// arrive whenever an admin connects or leaves).
func (s *Stream) NextReal(t testing.TB) Event {
	t.Helper()
	for {
		if ev := s.Next(t); ev.Name != "presence" {
			return ev
		}
	}
}

// NextOf skips events until one named name arrives.
func (s *Stream) NextOf(t testing.TB, name string) Event {
	t.Helper()
	for {
		if ev := s.Next(t); ev.Name == name {
			return ev
		}
	}
}

// Ended waits for the server to end the stream and returns the events
// that came before the end.
func (s *Stream) Ended(t testing.TB) []Event {
	t.Helper()
	var evs []Event
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline:
			t.Fatal("stream still open")
		}
	}
}

// Close ends the stream from the client side.
func (s *Stream) Close() {
	s.cancel()
	<-s.done
}
