package web

import (
	"errors"
	"net/http"
	"strings"

	"ticketflow/internal/desk"
)

// errorView is the data of the error page.
type errorView struct {
	Status  int
	Heading string
	Message string
}

// renderError is the pages' counterpart of writeError: the same kind →
// status mapping (statusOf), shown as an HTML page. Internal errors are
// logged and shown without detail.
func (u *ui) renderError(w http.ResponseWriter, r *http.Request, err error) {
	var e *desk.Error
	if !errors.As(err, &e) || e.Kind == desk.KindInternal {
		if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return // the browser went away
		}
		u.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &desk.Error{Kind: desk.KindInternal, Message: "Something went wrong on our side. Please try again."}
	}
	status := statusOf(e.Kind)
	setRetryAfter(w, e)
	v := errorView{Status: status, Message: e.Message}
	switch e.Kind {
	case desk.KindNotFound:
		v.Heading = "Page not found"
		if e == desk.ErrNotFound || e.Message == desk.ErrNotFound.Message {
			v.Message = "There is nothing here, or it is not yours to see."
		}
	case desk.KindForbidden:
		v.Heading = "Not allowed"
	case desk.KindUnavailable:
		v.Heading = "Temporarily unavailable"
		w.Header().Set("Retry-After", "5")
	case desk.KindInternal:
		v.Heading = "Something went wrong"
	default:
		v.Heading = http.StatusText(status)
	}
	if v.Message == "" {
		v.Message = http.StatusText(status)
	}
	u.render(w, r, status, "error", u.page(r, v.Heading, ""), v)
}

// htmlErrors replaces the mux's own plain-text 404 and 405 answers outside
// /api/ with the HTML error page (with the signed-in user's frame).
func htmlErrors(u *ui, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&htmlErrorWriter{ResponseWriter: w, u: u, r: r}, r)
	})
}

type htmlErrorWriter struct {
	http.ResponseWriter
	u       *ui
	r       *http.Request
	swallow bool
}

func (w *htmlErrorWriter) WriteHeader(code int) {
	h := w.Header()
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) && strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		w.swallow = true
		h.Del("Content-Length")
		err := desk.ErrNotFound
		if code == http.StatusMethodNotAllowed {
			err = &desk.Error{Kind: desk.KindNotFound, Message: "That address cannot be used this way."}
		}
		w.u.session(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.u.renderError(rw, r, err)
		})).ServeHTTP(w.ResponseWriter, w.r)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *htmlErrorWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *htmlErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// setRetryAfter tells the client when to try again after a rate-limit
// refusal (the pages' counterpart of writeError's header).
func setRetryAfter(w http.ResponseWriter, err error) {
	if e := unwrapErr(err); e != nil && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
}
