package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"ticketflow/internal/desk"
)

// statusOf maps an error kind to its HTTP status.
func statusOf(k desk.Kind) int {
	switch k {
	case desk.KindInvalid:
		return http.StatusBadRequest
	case desk.KindUnauthenticated:
		return http.StatusUnauthorized
	case desk.KindForbidden:
		return http.StatusForbidden
	case desk.KindNotFound:
		return http.StatusNotFound
	case desk.KindConflict:
		return http.StatusConflict
	case desk.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case desk.KindUnsupported:
		return http.StatusUnsupportedMediaType
	case desk.KindRateLimited:
		return http.StatusTooManyRequests
	case desk.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// setJSONHeaders marks a response as JSON that no cache may keep.
func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
}

// writeJSON encodes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError is the one place that decides what a client sees of an error.
// Validation errors use the field shape the seeds' clients parse,
// {"field": ["message"]}; every other error is {"detail", "code"}.
// Internal errors are logged with their cause and shown as a bare 500.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *desk.Error
	if !errors.As(err, &e) {
		if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
			return // the client went away; nobody reads the answer
		}
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal server error.", "code": "internal"})
		return
	}
	status := statusOf(e.Kind)
	if e.Kind == desk.KindInternal {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, status, map[string]string{"detail": "Internal server error.", "code": "internal"})
		return
	}
	if e.Kind == desk.KindUnavailable {
		log.WarnContext(r.Context(), "dependency unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	if e.Kind == desk.KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ticketflow"`)
	}
	if len(e.Fields) > 0 {
		writeJSON(w, status, e.Fields)
		return
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]string{"detail": msg, "code": e.Kind.String()})
}
