package web

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// handleCommentList serves GET /api/tickets/{id}/comments[?after=ID]: the
// conversation, oldest first; internal notes for admins only.
func handleCommentList(d ticketDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		after, err := queryID(r, "after")
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		cs, err := d.svc.Comments(r.Context(), actorFrom(r), id, after)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		l := d.linker(r)
		out := listJSON[commentJSON]{Count: len(cs), Results: make([]commentJSON, 0, len(cs))}
		for i := range cs {
			out.Results = append(out.Results, l.comment(&cs[i]))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleCommentCreate serves POST /api/tickets/{id}/comments: JSON
// {body, internal} or multipart with body, internal and `attachment` files
// (streamed to storage as they arrive).
func handleCommentCreate(d ticketDeps) http.Handler {
	type request struct {
		Body     string `json:"body"`
		Internal bool   `json:"internal"`
	}
	cfg := d.svc.Config()
	maxBody := int64(cfg.MaxAttachments)*cfg.MaxUploadBytes + 1<<20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		actor := actorFrom(r)
		var in app.NewComment
		var files []app.Staged
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			// Check the ticket first, so nobody streams files at a ticket
			// they cannot see.
			if _, err := d.svc.Ticket(r.Context(), actor, id); err != nil {
				writeError(w, r, d.log, err)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			files, err = readMultipart(r, d.svc, actor, func(name, v string) error {
				switch name {
				case "body":
					in.Body = v
				case "internal":
					b, err := strconv.ParseBool(strings.TrimSpace(v))
					if err != nil {
						return desk.Invalid("internal", "Must be true or false.")
					}
					in.Internal = b
				}
				return nil
			})
			if err != nil {
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
			in = app.NewComment{Body: body.Body, Internal: body.Internal}
		}
		c, err := d.svc.AddComment(r.Context(), actor, id, in, files)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		writeJSON(w, http.StatusCreated, d.linker(r).comment(c))
	})
}

// readMultipart reads a multipart form part by part: text fields go to set
// (capped), every part with a filename is staged as an attachment as it
// arrives. On error the caller discards the returned files.
func readMultipart(r *http.Request, svc *app.Service, actor *desk.User, set func(name, value string) error) ([]app.Staged, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, desk.Wrap(desk.KindInvalid, err, "Malformed multipart body.")
	}
	return readParts(r.Context(), mr, svc, actor, "", set)
}

// readParts is readMultipart on a reader whose first parts the caller may
// already have consumed (the pages read the CSRF token first); per names
// what the files belong to in the "too many files" message.
func readParts(ctx context.Context, mr *multipart.Reader, svc *app.Service, actor *desk.User, per string,
	set func(name, value string) error) ([]app.Staged, error) {
	var files []app.Staged
	maxFiles := svc.Config().MaxAttachments
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return files, multipartError(err)
		}
		if n >= maxParts {
			return files, desk.Errorf(desk.KindInvalid, "Too many form fields.")
		}
		if part.FileName() != "" {
			if len(files) == maxFiles {
				return files, desk.Invalid("attachment", "At most "+itoa(maxFiles)+" files"+per+".")
			}
			f, err := svc.StageAttachment(ctx, actor, part.FileName(), part)
			if err != nil {
				return files, multipartError(err)
			}
			files = append(files, f)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return files, multipartError(err)
		}
		if len(b) > maxFieldBytes {
			return files, desk.Invalid(part.FormName(), "This field is too long.")
		}
		if err := set(part.FormName(), string(b)); err != nil {
			return files, err
		}
	}
}
