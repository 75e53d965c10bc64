package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"ticketflow/internal/desk"
)

//go:embed templates
var templateFS embed.FS

// Content is what a notification says, captured when the change it
// reports is committed and stored with the mail (as JSON). It holds only
// what the recipient may see: never an internal note.
type Content struct {
	Title    string `json:"title,omitempty"`    // the ticket's title
	Actor    string `json:"actor,omitempty"`    // username of who did it
	From     string `json:"from,omitempty"`     // status before
	To       string `json:"to,omitempty"`       // status after
	Note     string `json:"note,omitempty"`     // the status change's note
	Body     string `json:"body,omitempty"`     // the reply, the chat message, or the ticket's description
	Category string `json:"category,omitempty"` // new tickets
	Priority string `json:"priority,omitempty"` // new tickets
}

// View is everything a mail template sees.
type View struct {
	Notice    desk.Notice
	Recipient string // the recipient's username
	Content   Content
	TicketID  int64  // 0 if the mail is about no ticket (yet)
	ChatID    int64  // 0 if the mail is about no chat
	Link      string // where to read more: the ticket's page, or the site
	// PrefsURL is the page where the recipient changes what they receive;
	// UnsubscribeURL turns this notice off without signing in.
	PrefsURL       string
	UnsubscribeURL string
}

// Rendered is a mail's subject and its two bodies.
type Rendered struct {
	Subject, Text, HTML string
}

// Renderer holds the mail templates, parsed once.
type Renderer struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	funcs := map[string]any{"describe": func(n desk.Notice) string { return n.Describe() }}
	t, err := texttemplate.New("text").Funcs(funcs).ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	h, err := htmltemplate.New("html").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Renderer{text: t, html: h}, nil
}

// Render makes the subject, the plain-text part and the HTML part of v.
// User text is escaped in the HTML part (html/template); the subject is
// one line.
func (r *Renderer) Render(v View) (*Rendered, error) {
	if _, ok := desk.ParseNotice(string(v.Notice)); !ok {
		return nil, fmt.Errorf("mail: unknown notice %q", v.Notice)
	}
	var subj, text, html bytes.Buffer
	if err := r.text.ExecuteTemplate(&subj, string(v.Notice)+".subject", v); err != nil {
		return nil, err
	}
	if err := r.text.ExecuteTemplate(&text, "text", v); err != nil {
		return nil, err
	}
	if err := r.html.ExecuteTemplate(&html, "html", v); err != nil {
		return nil, err
	}
	return &Rendered{Subject: oneLine(subj.String()), Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}
