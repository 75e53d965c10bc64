package web

import (
	"net/http"
	"strconv"
	"time"

	"ticketflow/internal/desk"
)

// The JSON shapes of the API. Field names follow the seeds' serializers.

type userJSON struct {
	ID         int64     `json:"id"`
	Email      string    `json:"email"`
	Username   string    `json:"username"`
	Role       desk.Role `json:"role"`
	IsActive   bool      `json:"is_active"`
	IsStaff    bool      `json:"is_staff"` // seed 002's clients test is_staff for the admin role
	DateJoined time.Time `json:"date_joined"`
}

func userView(u *desk.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Username: u.Username, Role: u.Role, IsActive: u.Active,
		IsStaff: u.Role == desk.RoleAdmin, DateJoined: u.DateJoined}
}

type userRefJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

func refView(r desk.UserRef) userRefJSON {
	return userRefJSON{ID: r.ID, Username: r.Username, Email: r.Email}
}

type attachmentJSON struct {
	ID          int64  `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
	DownloadURL string `json:"download_url"`
}

type ticketJSON struct {
	ID          int64            `json:"id"`
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Category    desk.Category    `json:"category"`
	Status      desk.Status      `json:"status"`
	Priority    desk.Priority    `json:"priority"`
	CreatedBy   userRefJSON      `json:"created_by"`
	Assignee    *userRefJSON     `json:"assignee"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Attachments []attachmentJSON `json:"attachments"`
	// Attachment is the first attachment's URL: the seeds' single
	// "attachment" field, kept for their clients.
	Attachment *string `json:"attachment"`
	// ChatID is the live chat the ticket was made from, or null.
	ChatID *int64 `json:"chat_id"`
}

// linker makes absolute URLs for a request.
type linker struct {
	base   string // scheme://host, no trailing slash
	signer *urlSigner
	viewer int64
	now    time.Time
}

func newLinker(r *http.Request, baseURL string, signer *urlSigner, viewer int64, now time.Time) linker {
	return linker{base: requestBase(r, baseURL), signer: signer, viewer: viewer, now: now}
}

// requestBase returns the configured public URL, or the one the request
// came to.
func requestBase(r *http.Request, baseURL string) string {
	if baseURL != "" {
		return baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (l linker) attachment(a *desk.Attachment) attachmentJSON {
	id := strconv.FormatInt(a.ID, 10)
	sig := ""
	if l.signer != nil && l.viewer != 0 {
		sig = "?t=" + l.signer.sign(a.ID, l.viewer, l.now)
	}
	return attachmentJSON{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size,
		URL: l.base + "/api/attachments/" + id + sig, DownloadURL: l.base + "/api/attachments/" + id + "/download" + sig}
}

func (l linker) ticket(t *desk.Ticket) ticketJSON {
	v := ticketJSON{ID: t.ID, Title: t.Title, Description: t.Description, Category: t.Category, Status: t.Status,
		Priority: t.Priority, CreatedBy: refView(t.CreatedBy), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Attachments: make([]attachmentJSON, 0, len(t.Attachments))}
	if t.Assignee != nil {
		a := refView(*t.Assignee)
		v.Assignee = &a
	}
	for i := range t.Attachments {
		v.Attachments = append(v.Attachments, l.attachment(&t.Attachments[i]))
	}
	if len(v.Attachments) > 0 {
		v.Attachment = &v.Attachments[0].URL
	}
	if t.ChatID != 0 {
		id := t.ChatID
		v.ChatID = &id
	}
	return v
}

type statusChangeJSON struct {
	ID        int64       `json:"id"`
	From      *string     `json:"from_status"`
	To        desk.Status `json:"to_status"`
	ChangedBy userRefJSON `json:"changed_by"`
	Note      string      `json:"note"`
	At        time.Time   `json:"changed_at"`
}

func changeView(c *desk.StatusChange) statusChangeJSON {
	v := statusChangeJSON{ID: c.ID, To: c.To, ChangedBy: refView(c.By), Note: c.Note, At: c.At}
	if c.From != "" {
		from := string(c.From)
		v.From = &from
	}
	return v
}
