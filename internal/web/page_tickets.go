package web

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

// option is one entry of a <select>.
type option struct{ Value, Label string }

// ticketOrders are the list's sort choices; "" lets the store decide
// (relevance when searching, newest first otherwise).
var ticketOrders = []option{
	{"", "Best match / newest"},
	{string(store.OrderNewest), "Newest first"},
	{string(store.OrderOldest), "Oldest first"},
	{string(store.OrderUpdated), "Recently updated"},
	{string(store.OrderPriority), "Highest priority"},
	{string(store.OrderPriorityLow), "Lowest priority"},
}

// ticketListView is the data of the ticket list.
type ticketListView struct {
	Category, Status, Search, Ordering string
	Categories                         []desk.Category
	Statuses                           []desk.Status
	Orders                             []option
	Tickets                            []desk.Ticket
	ShowCreator                        bool
	Total                              int
	TotalExact                         bool
	Page, Pages                        int
	PrevURL, NextURL                   string
	Filtered                           bool
	Errors                             map[string][]string
}

// handleTicketListPage serves GET /tickets: the tickets the user may see
// (admins: everyone's), filtered, searched, sorted and paginated.
func handleTicketListPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v := ticketListView{Category: q.Get("category"), Status: q.Get("status"), Search: q.Get("search"), Ordering: q.Get("ordering"),
			Categories: desk.Categories, Statuses: desk.Statuses, Orders: ticketOrders, ShowCreator: desk.CanListAllTickets(actorFrom(r))}
		v.Filtered = v.Category != "" || v.Status != "" || strings.TrimSpace(v.Search) != ""
		list, err := u.svc.Tickets(r.Context(), actorFrom(r), app.TicketQuery{Category: v.Category, Status: v.Status,
			Search: v.Search, Ordering: v.Ordering, Page: q.Get("page")})
		status := http.StatusOK
		switch {
		case desk.IsKind(err, desk.KindInvalid):
			v.Errors, _ = formErrors(err)
			status = http.StatusBadRequest
		case err != nil:
			u.renderError(w, r, err)
			return
		default:
			v.Tickets, v.Total, v.TotalExact, v.Page = list.Tickets, list.Total, list.TotalExact, list.Page
			v.Pages = max((list.Total+list.PageSize-1)/list.PageSize, 1)
			if list.Page > 1 {
				v.PrevURL = withPage(r.URL, list.Page-1)
			}
			if list.HasMore && list.Page*list.PageSize <= app.MaxOffset {
				v.NextURL = withPage(r.URL, list.Page+1)
			}
		}
		u.render(w, r, status, "tickets", u.page(r, "Tickets", "tickets"), v)
	})
}

// withPage returns the list URL with the same filters on another page.
func withPage(u *url.URL, page int) string {
	q := u.Query()
	q.Set("page", itoa(page))
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		}
	}
	return "/tickets?" + q.Encode()
}

// newTicketView is the data of the new-ticket form.
type newTicketView struct {
	Values     desk.NewTicket
	Errors     map[string][]string
	Message    string
	Categories []desk.Category
	Priorities []desk.Priority
	MaxBytes   int64
	MaxFiles   int
	Accept     string
}

func (u *ui) newTicketView(in desk.NewTicket) newTicketView {
	cfg := u.svc.Config()
	if in.Priority == "" {
		in.Priority = string(desk.DefaultPriority)
	}
	return newTicketView{Values: in, Categories: desk.Categories, Priorities: desk.Priorities,
		MaxBytes: cfg.MaxUploadBytes, MaxFiles: cfg.MaxAttachments, Accept: acceptList()}
}

// acceptList is the file input's accept attribute: every allowed
// extension (a hint for the picker; the server sniffs the content).
func acceptList() string {
	var exts []string
	for _, ft := range desk.FileTypes {
		exts = append(exts, "."+ft.Ext)
		for _, a := range ft.Alt {
			exts = append(exts, "."+a)
		}
	}
	sort.Strings(exts)
	return strings.Join(exts, ",")
}

// handleTicketNewPage serves GET /tickets/new.
func handleTicketNewPage(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.render(w, r, http.StatusOK, "ticket_new", u.page(r, "New ticket", "new"), u.newTicketView(desk.NewTicket{}))
	})
}

// handleTicketCreatePage serves POST /tickets/new, a multipart form whose
// first field must be the CSRF token (browsers send fields in document
// order, and the form puts it first), so that nothing is stored for a
// forged request. Files stream to storage as they arrive. On success it
// redirects to the new ticket; on failure it shows the form again with the
// user's text kept.
func handleTicketCreatePage(u *ui) http.Handler {
	cfg := u.svc.Config()
	maxBody := int64(cfg.MaxAttachments)*cfg.MaxUploadBytes + 1<<20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		actor := actorFrom(r)
		mr, err := r.MultipartReader()
		if err != nil {
			u.renderError(w, r, formReadError(err))
			return
		}
		if !u.multipartCSRF(r, mr) {
			drain(r)
			u.renderError(w, r, errFormCSRF)
			return
		}
		in, files, err := readTicketParts(r.Context(), mr, u.svc, actor)
		if err != nil {
			u.svc.Discard(context.WithoutCancel(r.Context()), files)
			drain(r)
		} else {
			var t *desk.Ticket
			if t, err = u.svc.CreateTicket(r.Context(), actor, in, files); err == nil {
				http.Redirect(w, r, "/tickets/"+itoa(int(t.ID))+"?msg=created", http.StatusSeeOther)
				return
			}
		}
		e := unwrapErr(err)
		if e == nil || e.Kind == desk.KindInternal || e.Kind == desk.KindUnavailable {
			u.renderError(w, r, err)
			return
		}
		v := u.newTicketView(in)
		v.Errors, v.Message = formErrors(err)
		if len(files) > 0 || v.Errors["attachment"] != nil {
			v.Message = strings.TrimSpace(v.Message + " Please choose your files again.")
		}
		u.render(w, r, statusOf(e.Kind), "ticket_new", u.page(r, "New ticket", "new"), v)
	})
}

// multipartCSRF reads the first part of a multipart form and checks that
// it is the session's CSRF token.
func (u *ui) multipartCSRF(r *http.Request, mr *multipart.Reader) bool {
	part, err := mr.NextPart()
	if err != nil || part.FormName() != csrfField || part.FileName() != "" {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(part, 256))
	return err == nil && u.validCSRF(r, string(b))
}

// drain reads what is left of a refused upload (bounded by the request's
// MaxBytesReader) so that the browser, still sending, receives the answer
// instead of a reset connection.
func drain(r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }
