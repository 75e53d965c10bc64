package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"ticketflow/internal/blob"
	"ticketflow/internal/desk"
)

// Staged is an uploaded file whose bytes are stored but which no ticket or
// reply references yet. Pass it to CreateTicket (or a reply), or to Discard.
type Staged struct {
	Key         string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
}

func (f Staged) attachment(uploader int64, now time.Time) desk.Attachment {
	return desk.Attachment{Key: f.Key, Filename: f.Filename, ContentType: f.ContentType, Size: f.Size,
		SHA256: f.SHA256, UploadedBy: uploader, CreatedAt: now}
}

// sniffLen is how much of a file content sniffing reads.
const sniffLen = 3072

// StageAttachment streams one uploaded file into blob storage: it sniffs
// the type from the content (the client's claimed type is ignored), refuses
// types outside desk.FileTypes (KindUnsupported), empty files (KindInvalid)
// and files over the size limit (KindTooLarge, detected while streaming),
// and never holds the file in memory. On any error nothing stays stored.
func (s *Service) StageAttachment(ctx context.Context, actor *desk.User, filename string, r io.Reader) (Staged, error) {
	if actor == nil || !actor.Active {
		return Staged{}, ErrNotAuthenticated
	}
	return s.stage(ctx, filename, r)
}

// stage is StageAttachment for files the system itself attaches.
func (s *Service) stage(ctx context.Context, filename string, r io.Reader) (Staged, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Staged{}, uploadError(err)
	}
	head = head[:n]
	if n == 0 {
		return Staged{}, desk.Invalid("attachment", "The submitted file is empty.")
	}
	detected := mimetype.Detect(head)
	ft, ok := desk.FileTypeByMIME(detected.String())
	if !ok {
		return Staged{}, &desk.Error{Kind: desk.KindUnsupported, Fields: map[string][]string{"attachment": {
			fmt.Sprintf("Files of type %s are not accepted. Use images, PDF, office documents, text or archives.", detected.String())}},
			Message: "Unsupported file type."}
	}
	f := Staged{Key: blob.NewKey(ft.Ext), Filename: desk.SanitizeFilename(filename, ft), ContentType: ft.MIME}
	if err := s.store.ReserveBlob(ctx, f.Key, s.now()); err != nil {
		return Staged{}, err
	}
	body := &cappedReader{r: io.MultiReader(bytes.NewReader(head), r), max: s.cfg.MaxUploadBytes, sum: sha256.New()}
	if err := s.blobs.Put(ctx, f.Key, body, -1, ft.MIME); err != nil {
		s.Discard(context.WithoutCancel(ctx), []Staged{f})
		if body.over {
			return Staged{}, s.tooLarge()
		}
		return Staged{}, uploadError(err)
	}
	f.Size, f.SHA256 = body.n, hex.EncodeToString(body.sum.Sum(nil))
	return f, nil
}

func (s *Service) tooLarge() error {
	mb := strconv.FormatInt(s.cfg.MaxUploadBytes>>20, 10)
	return &desk.Error{Kind: desk.KindTooLarge, Message: "File too large.",
		Fields: map[string][]string{"attachment": {"Each file must be at most " + mb + " MB."}}}
}

// uploadError keeps desk errors (e.g. storage full) and reports anything
// else as an interrupted upload.
func uploadError(err error) error {
	var de *desk.Error
	if errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	return desk.Wrap(desk.KindInvalid, err, "The upload was interrupted or malformed.")
}

// Discard deletes staged files that will not be attached. Intents whose
// bytes cannot be deleted now stay recorded for CollectOrphans.
func (s *Service) Discard(ctx context.Context, files []Staged) {
	for _, f := range files {
		if err := s.blobs.Delete(ctx, f.Key); err != nil {
			s.log.WarnContext(ctx, "discard staged file", "key", f.Key, "err", err)
			continue
		}
		if err := s.store.ReleaseBlob(ctx, f.Key); err != nil {
			s.log.WarnContext(ctx, "release staged file", "key", f.Key, "err", err)
		}
	}
}

// CollectOrphans deletes the bytes of uploads that were reserved more than
// age ago and never attached (a crash or a lost connection mid-request), and
// returns how many it removed.
func (s *Service) CollectOrphans(ctx context.Context, age time.Duration) (int, error) {
	n := 0
	for {
		keys, err := s.store.StaleBlobIntents(ctx, s.now().Add(-age), 100)
		if err != nil || len(keys) == 0 {
			return n, err
		}
		progress := false
		for _, k := range keys {
			if err := s.blobs.Delete(ctx, k); err != nil {
				s.log.WarnContext(ctx, "collect orphan", "key", k, "err", err)
				continue
			}
			if err := s.store.ReleaseBlob(ctx, k); err != nil {
				return n, err
			}
			n, progress = n+1, true
		}
		if !progress {
			return n, nil
		}
	}
}

// OpenAttachment returns an attachment's metadata and bytes if the actor may
// see it (its ticket, and for a reply's file the reply: an internal note's
// files are for admins only); otherwise KindNotFound.
func (s *Service) OpenAttachment(ctx context.Context, actor *desk.User, id int64) (*desk.Attachment, io.ReadCloser, error) {
	a, err := s.store.AttachmentByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Ticket(ctx, actor, a.TicketID)
	if err != nil {
		return nil, nil, err
	}
	var c *desk.Comment
	if a.CommentID != 0 {
		if c, err = s.store.CommentByID(ctx, a.CommentID); err != nil {
			return nil, nil, err
		}
	}
	if !desk.CanViewAttachment(actor, t, c) {
		return nil, nil, desk.ErrNotFound
	}
	rc, _, err := s.blobs.Open(ctx, a.Key)
	if err != nil {
		return nil, nil, err
	}
	return a, rc, nil
}

// cappedReader counts and hashes what passes through it and fails once more
// than max bytes have been read.
type cappedReader struct {
	r    io.Reader
	max  int64
	n    int64
	sum  hash.Hash
	over bool
}

var errTooLarge = errors.New("upload exceeds the size limit")

func (c *cappedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.over = true
		return 0, errTooLarge
	}
	c.sum.Write(p[:n])
	return n, err
}
