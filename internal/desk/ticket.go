package desk

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Category is what a ticket is about. The strings are the seeds' exact enum.
type Category string

// The categories.
const (
	CategoryTechnical Category = "Technical"
	CategoryFinancial Category = "Financial"
	CategoryProduct   Category = "Product"
)

// Categories lists every category in display order.
var Categories = []Category{CategoryTechnical, CategoryFinancial, CategoryProduct}

// ParseCategory returns the category spelled exactly s, or false.
func ParseCategory(s string) (Category, bool) {
	for _, c := range Categories {
		if string(c) == s {
			return c, true
		}
	}
	return "", false
}

// Status is where a ticket stands. The strings are the seeds' exact enum.
type Status string

// The statuses.
const (
	StatusNew         Status = "New"
	StatusUnderReview Status = "Under Review"
	StatusResolved    Status = "Resolved"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNew, StatusUnderReview, StatusResolved}

// ParseStatus returns the status spelled exactly s, or false.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// CanTransition reports whether a ticket may move from one status to another.
// A ticket under review may go back to New (mis-triaged); a resolved ticket
// may only be reopened for review. Staying put is not a transition.
func CanTransition(from, to Status) bool {
	switch from {
	case StatusNew:
		return to == StatusUnderReview || to == StatusResolved
	case StatusUnderReview:
		return to == StatusNew || to == StatusResolved
	case StatusResolved:
		return to == StatusUnderReview
	}
	return false
}

// Priority is how urgent a ticket is.
type Priority string

// The priorities, lowest first.
const (
	PriorityLow    Priority = "Low"
	PriorityMedium Priority = "Medium"
	PriorityHigh   Priority = "High"
	PriorityUrgent Priority = "Urgent"
)

// Priorities lists every priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent}

// DefaultPriority is used when a ticket is created without one.
const DefaultPriority = PriorityMedium

// ParsePriority returns the priority spelled s (case-insensitive, since the
// seeds never fixed its spelling), or false.
func ParsePriority(s string) (Priority, bool) {
	for _, p := range Priorities {
		if strings.EqualFold(string(p), strings.TrimSpace(s)) {
			return p, true
		}
	}
	return "", false
}

// Rank orders priorities for sorting: Low=1 … Urgent=4; 0 if unknown.
func (p Priority) Rank() int {
	for i, q := range Priorities {
		if p == q {
			return i + 1
		}
	}
	return 0
}

// Ticket is a request filed by a user.
type Ticket struct {
	ID          int64
	Title       string
	Description string
	Category    Category
	Status      Status
	Priority    Priority
	CreatedBy   UserRef
	Assignee    *UserRef
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Attachments []Attachment
	// ChatID is the live chat the ticket was made from, 0 if none.
	ChatID int64
}

// StatusChange is one entry of a ticket's status history. From is empty for
// the entry recorded when the ticket was created.
type StatusChange struct {
	ID       int64
	TicketID int64
	From     Status
	To       Status
	By       UserRef
	Note     string
	At       time.Time
}

// Attachment is the metadata of a file stored in a blob backend under Key.
type Attachment struct {
	ID          int64
	TicketID    int64
	CommentID   int64 // 0 when attached to the ticket itself
	Key         string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
	UploadedBy  int64
	CreatedAt   time.Time
}

// Comment is a message in a ticket's conversation. Internal comments are
// notes between admins that the ticket's owner never sees.
type Comment struct {
	ID          int64
	TicketID    int64
	Author      UserRef
	Body        string
	Internal    bool
	CreatedAt   time.Time
	Attachments []Attachment
}

// Limits on ticket text.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 20000
	MaxNoteLen        = 2000
	MaxCommentLen     = 20000
)

// NewTicket is what a user submits to open a ticket.
type NewTicket struct {
	Title       string
	Description string
	Category    string
	Priority    string
}

// Validate trims the text fields and returns field errors for anything
// missing, too long or not one of the enum values. It returns the parsed
// category and priority.
func (n *NewTicket) Validate() (Category, Priority, error) {
	var errs FieldErrors
	n.Title = strings.TrimSpace(n.Title)
	n.Description = strings.TrimSpace(n.Description)
	checkText(&errs, "title", n.Title, MaxTitleLen)
	checkText(&errs, "description", n.Description, MaxDescriptionLen)
	cat, ok := ParseCategory(strings.TrimSpace(n.Category))
	if !ok {
		if strings.TrimSpace(n.Category) == "" {
			errs.Add("category", "This field is required.")
		} else {
			errs.Add("category", `Must be one of "Technical", "Financial", "Product".`)
		}
	}
	prio := DefaultPriority
	if strings.TrimSpace(n.Priority) != "" {
		if prio, ok = ParsePriority(n.Priority); !ok {
			errs.Add("priority", `Must be one of "Low", "Medium", "High", "Urgent".`)
		}
	}
	return cat, prio, errs.Err()
}

func checkText(errs *FieldErrors, field, s string, max int) {
	switch {
	case s == "":
		errs.Add(field, "This field is required.")
	case utf8.RuneCountInString(s) > max:
		errs.Add(field, "Ensure this field has no more than "+itoa(max)+" characters.")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		errs.Add(field, "Contains invalid characters.")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
