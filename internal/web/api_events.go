package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/realtime"
)

// Stream timing. A stream ends after streamLifetime so that clients
// re-authenticate now and then (EventSource reconnects by itself).
const (
	heartbeatEvery = 15 * time.Second
	writeTimeout   = 10 * time.Second
	streamLifetime = 30 * time.Minute
)

// streamScope checks the request's right to a narrowed stream and returns
// its filter: 404 for a ticket or chat the actor may not see.
type streamScope func(r *http.Request) (realtime.Filter, error)

// handleEvents serves a Server-Sent Events stream of everything the actor
// may see (narrowed by scope): see README "Live updates" for the contract.
// Every event is re-checked against the actor's rights as it is pushed; the
// stream ends when the user's access changes or they fall too far behind.
func handleEvents(d ticketDeps, hub *realtime.Hub, scope streamScope) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r)
		if hub == nil {
			writeError(w, r, d.log, desk.Errorf(desk.KindUnavailable, "Live updates are not available."))
			return
		}
		f, err := scope(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		last := r.Header.Get("Last-Event-ID")
		if last == "" {
			last = r.URL.Query().Get("last_event_id")
		}
		sub, backlog, reset, err := hub.Subscribe(actor, f, last)
		if err != nil {
			writeError(w, r, d.log, desk.Wrap(desk.KindUnavailable, err, "Live updates are not available."))
			return
		}
		defer sub.Close()
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		l := d.linker(r)
		write := func(id, event string, data any) error {
			// A fresh deadline per write: the server's write timeout does
			// not apply to a stream, but a stuck client must not pin it.
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := writeSSE(w, id, event, data); err != nil {
				return err
			}
			return rc.Flush()
		}
		if write("", "", nil) != nil { // retry hint and headers out
			return
		}
		if reset && write("", "reset", struct{}{}) != nil {
			return
		}
		if write("", string(desk.EventPresence), presenceJSON{AgentsOnline: d.svc.AgentsOnline(actor)}) != nil {
			return
		}
		for _, b := range backlog {
			if write(b.ID, string(b.Event.Kind), l.eventData(b.Event)) != nil {
				return
			}
		}
		beat := time.NewTicker(heartbeatEvery)
		defer beat.Stop()
		end := time.NewTimer(streamLifetime)
		defer end.Stop()
		for {
			var err error
			select {
			case <-r.Context().Done():
				return
			case <-end.C:
				return
			case <-sub.Done():
				if errors.Is(sub.Err(), realtime.ErrAccessChanged) {
					_ = write("", "bye", map[string]string{"reason": "access_changed"})
				}
				return
			case <-beat.C:
				_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
				if _, err = io.WriteString(w, ": ping\n\n"); err == nil {
					err = rc.Flush()
				}
			case dl := <-sub.C():
				if dl.Reset {
					err = write("", "reset", struct{}{})
				} else {
					err = write(dl.ID, string(dl.Event.Kind), l.eventData(dl.Event))
				}
			}
			if err != nil {
				return
			}
		}
	})
}

// writeSSE writes one event; with no event name it writes the retry hint.
// JSON never contains a raw newline, so data fits one line.
func writeSSE(w io.Writer, id, event string, data any) error {
	if event == "" {
		_, err := io.WriteString(w, "retry: 3000\n\n")
		return err
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(b)+len(event)+len(id)+24)
	if id != "" {
		msg = append(append(append(msg, "id: "...), id...), '\n')
	}
	msg = append(append(append(msg, "event: "...), event...), '\n')
	msg = append(append(append(msg, "data: "...), b...), "\n\n"...)
	_, err = w.Write(msg)
	return err
}

func scopeAll(*http.Request) (realtime.Filter, error) { return realtime.Filter{}, nil }

func scopeTicket(d ticketDeps) streamScope {
	return func(r *http.Request) (realtime.Filter, error) {
		id, err := pathID(r)
		if err != nil {
			return realtime.Filter{}, err
		}
		if _, err := d.svc.Ticket(r.Context(), actorFrom(r), id); err != nil {
			return realtime.Filter{}, err
		}
		return realtime.Filter{TicketID: id}, nil
	}
}

func scopeChat(d ticketDeps) streamScope {
	return func(r *http.Request) (realtime.Filter, error) {
		id, err := pathID(r)
		if err != nil {
			return realtime.Filter{}, err
		}
		if _, _, err := d.svc.Chat(r.Context(), actorFrom(r), id, 1<<62); err != nil {
			return realtime.Filter{}, err
		}
		return realtime.Filter{ChatID: id}, nil
	}
}

func queryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, desk.Invalid(name, "Must be a whole number.")
	}
	return n, nil
}
