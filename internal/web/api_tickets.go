package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// ticketDeps are what the ticket endpoints share.
type ticketDeps struct {
	log     *slog.Logger
	svc     *app.Service
	baseURL string
	signer  *urlSigner
	now     func() time.Time
	pages   *pageCache // rendered list pages (see pageCache)
}

func (d ticketDeps) linker(r *http.Request) linker {
	var viewer int64
	if u := actorFrom(r); u != nil {
		viewer = u.ID
	}
	return newLinker(r, d.baseURL, d.signer, viewer, d.now())
}

// handleTicketList serves GET /api/tickets: role-scoped, filtered,
// searched, ordered and paginated.
func handleTicketList(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u := actorFrom(r)
		var keep func([]byte)
		if u != nil && u.Active && q.Get("search") == "" && q.Get("cursor") == "" {
			key := listCacheKey(u.ID, desk.CanListAllTickets(u), requestBase(r, d.baseURL), r.URL.RawQuery)
			body, v, ok := d.pages.lookup(key, r)
			if body != nil {
				writeJSONBody(w, r, http.StatusOK, body)
				return
			}
			if ok {
				keep = func(b []byte) { d.pages.store(key, v, b) }
			}
		}
		list, err := d.svc.Tickets(r.Context(), u, app.TicketQuery{Category: q.Get("category"), Status: q.Get("status"),
			Search: q.Get("search"), Ordering: q.Get("ordering"), Page: q.Get("page"), PageSize: q.Get("page_size"), Cursor: q.Get("cursor")})
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		l := d.linker(r)
		out := listJSON[ticketJSON]{Count: list.Total, CountExact: &list.TotalExact, Ordering: string(list.Order)}
		if list.Next != nil {
			c := list.Next.Encode()
			out.NextCursor = &c
		}
		switch {
		case !list.HasMore:
		case list.Page > 0 && list.Page*list.PageSize <= app.MaxOffset:
			out.Next = pageURL(r, l.base, map[string]string{"page": itoa(list.Page + 1)})
		case list.Next != nil:
			out.Next = pageURL(r, l.base, map[string]string{"page": "", "cursor": *out.NextCursor, "ordering": string(list.Order)})
		}
		if list.Page > 1 {
			out.Previous = pageURL(r, l.base, map[string]string{"page": itoa(list.Page - 1)})
		}
		results := func(b []byte) []byte { return appendTicketViews(b, l, list.Tickets) }
		writeAppendedKeep(w, r, http.StatusOK, func(b []byte) []byte { return appendTicketListWith(b, &out, results) }, keep)
	})
}

// handleTicketGet serves GET /api/tickets/{id} (owner or admin; else 404).
func handleTicketGet(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err == nil {
			var t *desk.Ticket
			if t, err = d.svc.Ticket(r.Context(), actorFrom(r), id); err == nil {
				v := d.linker(r).ticket(t)
				writeAppended(w, r, http.StatusOK, v.appendJSON)
				return
			}
		}
		writeError(w, r, d.log, err)
	})
}

// handleTicketCreate serves POST /api/tickets with a JSON, urlencoded or
// multipart body; multipart files stream straight to blob storage.
func handleTicketCreate(d ticketDeps) http.Handler {
	type request struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Category    string `json:"category"`
		Priority    string `json:"priority"`
	}
	cfg := d.svc.Config()
	maxBody := int64(cfg.MaxAttachments)*cfg.MaxUploadBytes + 1<<20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r)
		var in desk.NewTicket
		var files []app.Staged
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "multipart/form-data" {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			var err error
			if in, files, err = readTicketMultipart(r, d.svc, actor); err != nil {
				d.svc.Discard(context.WithoutCancel(r.Context()), files)
				writeError(w, r, d.log, err)
				return
			}
		} else {
			var body request
			if err := decode(w, r, &body); err != nil {
				writeError(w, r, d.log, err)
				return
			}
			in = desk.NewTicket{Title: body.Title, Description: body.Description, Category: body.Category, Priority: body.Priority}
		}
		t, err := d.svc.CreateTicket(r.Context(), actor, in, files)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		w.Header().Set("Location", "/api/tickets/"+strconv.FormatInt(t.ID, 10))
		writeJSON(w, http.StatusCreated, d.linker(r).ticket(t))
	})
}

// Multipart limits besides file sizes.
const (
	maxFieldBytes = 128 << 10 // one text field
	maxParts      = 32
)

// readTicketMultipart reads a multipart ticket form part by part. Text
// fields are read into memory (capped); every part with a filename is
// staged as an attachment as it arrives. On error the caller discards the
// returned files.
func readTicketMultipart(r *http.Request, svc *app.Service, actor *desk.User) (desk.NewTicket, []app.Staged, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return desk.NewTicket{}, nil, desk.Wrap(desk.KindInvalid, err, "Malformed multipart body.")
	}
	return readTicketParts(r.Context(), mr, svc, actor)
}

// readTicketParts is readTicketMultipart on a reader whose first parts the
// caller may already have consumed (the pages read the CSRF token first).
func readTicketParts(ctx context.Context, mr *multipart.Reader, svc *app.Service, actor *desk.User) (desk.NewTicket, []app.Staged, error) {
	var in desk.NewTicket
	files, err := readParts(ctx, mr, svc, actor, " per ticket", func(name, v string) error {
		switch name {
		case "title":
			in.Title = v
		case "description":
			in.Description = v
		case "category":
			in.Category = v
		case "priority":
			in.Priority = v
		}
		return nil
	})
	return in, files, err
}

func multipartError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return desk.Errorf(desk.KindTooLarge, "Request body too large.")
	}
	if unwrapErr(err) != nil || errors.Is(err, context.Canceled) {
		return err
	}
	return desk.Wrap(desk.KindInvalid, err, "Malformed multipart body.")
}

// handleTicketStatus serves PATCH /api/tickets/{id}/status and the seed's
// /update_status: {status, note?} (admins).
func handleTicketStatus(d ticketDeps) http.Handler {
	type request struct {
		Status string `json:"status"`
		Note   string `json:"note"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		var in request
		if err := decode(w, r, &in); err != nil {
			writeError(w, r, d.log, err)
			return
		}
		t, _, err := d.svc.ChangeStatus(r.Context(), actorFrom(r), id, in.Status, in.Note)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		t, err = d.svc.Ticket(r.Context(), actorFrom(r), id)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		writeJSON(w, http.StatusOK, d.linker(r).ticket(t))
	})
}

// handleTicketHistory serves GET /api/tickets/{id}/history, oldest first.
func handleTicketHistory(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		h, err := d.svc.StatusHistory(r.Context(), actorFrom(r), id)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		out := make([]statusChangeJSON, 0, len(h))
		for i := range h {
			out = append(out, changeView(&h[i]))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleAttachment serves GET /api/attachments/{id} (inline where safe) and
// /api/attachments/{id}/download. The viewer is the authenticated user or,
// for a signed link (?t=), the user it was made for; either way their right
// to the ticket is checked now.
func handleAttachment(d ticketDeps, download bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		viewer := actorFrom(r)
		if viewer == nil {
			if tok := r.URL.Query().Get("t"); tok != "" && d.signer != nil {
				if uid, ok := d.signer.verify(tok, id); ok {
					viewer, err = d.svc.ActiveUser(r.Context(), uid)
				}
			}
			if viewer == nil {
				if err == nil {
					err, _ = r.Context().Value(keyAuthErr).(error)
				}
				if err == nil || desk.ErrorKind(err) != desk.KindUnavailable {
					err = app.ErrNotAuthenticated
				}
				writeError(w, r, d.log, err)
				return
			}
		}
		a, rc, err := d.svc.OpenAttachment(r.Context(), viewer, id)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		defer rc.Close()
		serveAttachment(w, r, a, rc, download)
	})
}

// serveAttachment writes an attachment with headers that keep browsers from
// running it: nosniff, a sandboxing CSP, and inline display only for images
// and PDF.
func serveAttachment(w http.ResponseWriter, r *http.Request, a *desk.Attachment, body io.Reader, download bool) {
	ft, _ := desk.FileTypeByMIME(a.ContentType)
	disposition := "attachment"
	if !download && ft.Inline {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	if strings.HasPrefix(a.ContentType, "text/") {
		h.Set("Content-Type", a.ContentType+"; charset=utf-8")
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename}))
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	csp := "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
	if disposition == "inline" && ft.MIME == "application/pdf" {
		// The ticket page embeds PDFs in an <iframe>. Measured in Chromium
		// 156: this sandbox policy does not stop its PDF viewer, but the
		// global X-Frame-Options: DENY does (and an <iframe sandbox>
		// attribute blocks the viewer outright). So PDFs, and only PDFs,
		// may be framed by this origin's pages. The document stays
		// sandboxed (opaque origin, no scripts, no same-origin access), so
		// a hostile PDF cannot script the app that frames it.
		csp += "; frame-ancestors 'self'"
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", `"`+a.SHA256+`"`)
	if match := r.Header.Get("If-None-Match"); match != "" && match == `"`+a.SHA256+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
	}
}
