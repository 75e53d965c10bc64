package web

import (
	"context"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// commentView is one entry of a ticket's conversation as the page shows it.
type commentView struct {
	ID          int64
	Author      string
	FromSupport bool // written by someone other than the ticket's owner
	Body        string
	Internal    bool
	CreatedAt   time.Time
	Attachments []attachmentView
}

func commentViews(t *desk.Ticket, cs []desk.Comment) []commentView {
	out := make([]commentView, 0, len(cs))
	for _, c := range cs {
		out = append(out, commentView{ID: c.ID, Author: c.Author.Username, FromSupport: c.Author.ID != t.CreatedBy.ID,
			Body: c.Body, Internal: c.Internal, CreatedAt: c.CreatedAt, Attachments: attachmentViews(c.Attachments)})
	}
	return out
}

// replyForm is the reply form under the conversation: who may use it, the
// upload limits, and what was typed when it comes back with an error.
type replyForm struct {
	Allowed  bool // the owner and admins
	CanNote  bool // admins may write internal notes
	Body     string
	Internal bool
	Errors   map[string][]string
	Message  string
	MaxBytes int64
	MaxFiles int
	Accept   string
}

func (u *ui) replyForm(actor *desk.User, t *desk.Ticket) replyForm {
	cfg := u.svc.Config()
	return replyForm{Allowed: desk.CanComment(actor, t, false), CanNote: desk.CanComment(actor, t, true),
		MaxBytes: cfg.MaxUploadBytes, MaxFiles: cfg.MaxAttachments, Accept: acceptList()}
}

// handleCommentCreatePage serves POST /tickets/{id}/comments: a reply (or,
// for admins, an internal note) with optional files, as a multipart form
// whose first field must be the CSRF token. The ticket is checked before
// any file is read, so nobody streams files at a ticket they cannot see
// (404). Success redirects to the new comment; a refusal shows the ticket
// again with the text kept.
func handleCommentCreatePage(u *ui) http.Handler {
	cfg := u.svc.Config()
	maxBody := int64(cfg.MaxAttachments)*cfg.MaxUploadBytes + 1<<20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		id, err := pathID(r)
		if err != nil {
			u.renderError(w, r, err)
			return
		}
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
		if _, err := u.svc.Ticket(r.Context(), actor, id); err != nil {
			drain(r)
			u.renderError(w, r, err)
			return
		}
		in, files, err := readCommentParts(r.Context(), mr, u.svc, actor)
		var c *desk.Comment
		if err != nil {
			u.svc.Discard(context.WithoutCancel(r.Context()), files)
			drain(r)
		} else if c, err = u.svc.AddComment(r.Context(), actor, id, in, files); err == nil {
			msg := "replied"
			if c.Internal {
				msg = "noted"
			}
			http.Redirect(w, r, "/tickets/"+itoa(int(id))+"?msg="+msg+"#comment-"+itoa(int(c.ID)), http.StatusSeeOther)
			return
		}
		e := unwrapErr(err)
		if e == nil || (e.Kind != desk.KindInvalid && e.Kind != desk.KindTooLarge && e.Kind != desk.KindUnsupported) {
			u.renderError(w, r, err)
			return
		}
		v, lerr := u.ticketPage(r)
		if lerr != nil {
			u.renderError(w, r, lerr)
			return
		}
		v.Reply.Body, v.Reply.Internal = in.Body, in.Internal
		v.Reply.Errors, v.Reply.Message = formErrors(err)
		if len(files) > 0 || v.Reply.Errors["attachment"] != nil {
			v.Reply.Message = strings.TrimSpace(v.Reply.Message + " Please choose your files again.")
		}
		u.render(w, r, statusOf(e.Kind), "ticket", u.page(r, v.Ticket.Title, "tickets"), v)
	})
}

// readCommentParts reads the rest of a reply form: body, internal and
// attachment files (staged as they arrive). On error the caller discards
// the returned files.
func readCommentParts(ctx context.Context, mr *multipart.Reader, svc *app.Service, actor *desk.User) (app.NewComment, []app.Staged, error) {
	var in app.NewComment
	files, err := readParts(ctx, mr, svc, actor, " per reply", func(name, v string) error {
		switch name {
		case "body":
			in.Body = v
		case "internal":
			in.Internal, _ = strconv.ParseBool(v) // the checkbox sends "true"
		}
		return nil
	})
	return in, files, err
}
