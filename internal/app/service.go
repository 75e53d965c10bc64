// Package app holds TicketFlow's use cases. Every state change goes through
// a Service method, which authorises the actor, validates the input, stores
// the change in one transaction and, after commit, publishes what happened.
// The web pages and the JSON API both call it; neither talks to storage.
package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store"
)

// Store is the persistence the service needs; *store.DB implements it.
type Store interface {
	CreateUser(ctx context.Context, u *desk.User) error
	UserByID(ctx context.Context, id int64) (*desk.User, error)
	AuthUser(ctx context.Context, id int64) (*desk.User, error)
	UserByLogin(ctx context.Context, login string) (*desk.User, error)
	Users(ctx context.Context, f store.UserFilter) ([]desk.User, int, error)
	ActiveAdmins(ctx context.Context) ([]desk.User, error)
	WriteVersion() (uint64, bool)
	SetUserAccess(ctx context.Context, id int64, role desk.Role, active bool, now time.Time) (*desk.User, error)
	SetPassword(ctx context.Context, id int64, hash string, now time.Time) error

	CreateSession(ctx context.Context, s store.Session) error
	SessionUser(ctx context.Context, idHash []byte, now time.Time) (*store.Session, *desk.User, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	DeleteExpired(ctx context.Context, now time.Time) error

	CreateRefreshToken(ctx context.Context, t store.RefreshToken) error
	RotateRefreshToken(ctx context.Context, oldHash []byte, next *store.RefreshToken, now time.Time) error
	RevokeRefreshFamily(ctx context.Context, idHash []byte, userID int64, now time.Time) error
	RevokeUserRefreshTokens(ctx context.Context, userID int64, now time.Time) error

	CreateTicket(ctx context.Context, t *desk.Ticket, mails ...desk.Mail) error
	TicketByID(ctx context.Context, id int64) (*desk.Ticket, error)
	Tickets(ctx context.Context, f store.TicketFilter) (*store.TicketPage, error)
	UpdateTicketStatus(ctx context.Context, c *desk.StatusChange, mails ...desk.Mail) error
	StatusHistory(ctx context.Context, ticketID int64) ([]desk.StatusChange, error)

	CreateComment(ctx context.Context, c *desk.Comment, mails ...desk.Mail) error
	CommentByID(ctx context.Context, id int64) (*desk.Comment, error)
	Comments(ctx context.Context, f store.CommentFilter) ([]desk.Comment, error)

	OpenChat(ctx context.Context, userID int64, now time.Time) (*desk.Chat, bool, error)
	OpenChatOf(ctx context.Context, userID int64) (*desk.Chat, error)
	ChatByID(ctx context.Context, id int64) (*desk.Chat, error)
	Chats(ctx context.Context, f store.ChatFilter) ([]desk.Chat, error)
	AddChatMessage(ctx context.Context, m *desk.ChatMessage, mails ...desk.Mail) error
	ChatMessages(ctx context.Context, chatID, afterID int64) ([]desk.ChatMessage, error)
	CloseChat(ctx context.Context, id int64, now time.Time) (*desk.Chat, error)
	CreateTicketFromChat(ctx context.Context, t *desk.Ticket, chatID int64, now time.Time, mails ...desk.Mail) error
	CreateTicketOnce(ctx context.Context, t *desk.Ticket, refs []string, now time.Time, mails ...desk.Mail) (int64, error)

	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]desk.Mail, error)
	SettleMails(ctx context.Context, outcomes []store.MailOutcome) (lost []int64, err error)
	RetryMail(ctx context.Context, id int64, now time.Time) (*desk.Mail, error)
	Mails(ctx context.Context, f store.MailFilter) ([]desk.Mail, int, error)
	DeleteSentMail(ctx context.Context, before time.Time) (int, error)
	MailOptOuts(ctx context.Context, notice desk.Notice, userIDs []int64) (map[int64]bool, error)
	UserOptOuts(ctx context.Context, userID int64) (map[desk.Notice]bool, error)
	SetOptOuts(ctx context.Context, userID int64, off map[desk.Notice]bool, now time.Time) error

	AttachmentByID(ctx context.Context, id int64) (*desk.Attachment, error)
	ReserveBlob(ctx context.Context, key string, now time.Time) error
	ReleaseBlob(ctx context.Context, key string) error
	StaleBlobIntents(ctx context.Context, before time.Time, limit int) ([]string, error)
}

var _ Store = (*store.DB)(nil)

// Blobs stores attachment bytes; see package blob for the contract.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Delete(ctx context.Context, key string) error
}

// Registration says who may create their own account.
type Registration string

// The registration modes.
const (
	RegistrationOpen    Registration = "open"    // anyone who can reach the server
	RegistrationDomains Registration = "domains" // only emails in AllowedDomains
	RegistrationClosed  Registration = "closed"  // accounts are made by admins
)

// Config holds the service's tunables. Zero values take the defaults noted.
type Config struct {
	Registration      Registration  // default open
	AllowedDomains    []string      // for RegistrationDomains, lower-case
	AccessTTL         time.Duration // default 15m
	RefreshTTL        time.Duration // default 7 days
	SessionTTL        time.Duration // default 7 days
	MaxUploadBytes    int64         // per file; default 10 MiB
	MaxAttachments    int           // per ticket or reply; default 5
	PasswordMinLength int           // default 8
	// TawkFallbackUser (email or username of an existing account) owns the
	// tickets made from Tawk.to chats whose visitor has no active account.
	// Empty: a built-in, inactive "tawk-visitor" account (admins only see
	// its tickets).
	TawkFallbackUser string

	// Email notifications. BaseURL (scheme://host[:port]) starts every link
	// in a mail; default http://localhost:8080. URLKey signs unsubscribe
	// links (the web layer's link key); empty: a key for this process only.
	BaseURL string
	URLKey  []byte
	// MailAdminsNewTicket and MailAdminsChat turn on the admins' notices
	// (a new ticket; a chat message while no admin is online). Off when
	// false; each admin may still turn them off for themselves.
	MailAdminsNewTicket bool
	MailAdminsChat      bool
	Mailer              MailerConfig
}

func (c *Config) defaults() {
	if c.Registration == "" {
		c.Registration = RegistrationOpen
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 7 * 24 * time.Hour
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 7 * 24 * time.Hour
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 10 << 20
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 5
	}
	c.Mailer.defaults()
	if c.BaseURL == "" {
		c.BaseURL = "http://localhost:8080"
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	for i, d := range c.AllowedDomains {
		c.AllowedDomains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
}

// Deps are the service's collaborators; all are required except Log and Now.
type Deps struct {
	Store  Store
	Blobs  Blobs
	Hasher *auth.Hasher
	Issuer *auth.Issuer
	Log    *slog.Logger
	Now    func() time.Time
	// Events receives what happened, after it was committed; nil drops it.
	Events Publisher
	// Presence says which admins are connected; nil means none is.
	Presence Presence
	// Mail delivers the outbox; nil logs every mail instead (see
	// mail.NewLog), which counts as delivered.
	Mail Sender
}

// Service implements every use case.
type Service struct {
	cfg    Config
	store  Store
	blobs  Blobs
	hasher *auth.Hasher
	issuer *auth.Issuer
	policy *auth.Policy
	log    *slog.Logger
	now    func() time.Time
	events Publisher
	agents Presence

	sender   Sender
	mails    *mail.Renderer
	unsubKey []byte
	mailWake chan struct{} // nudges RunMailer after a commit that wrote mail

	loginIP      *auth.Limiter // failed logins per client IP
	loginAccount *auth.Limiter // failed logins per submitted email/username
	registerIP   *auth.Limiter // registrations per client IP
}

// New returns a Service.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Blobs == nil || d.Hasher == nil || d.Issuer == nil {
		return nil, errors.New("app: Store, Blobs, Hasher and Issuer are required")
	}
	cfg.defaults()
	if cfg.Registration == RegistrationDomains && len(cfg.AllowedDomains) == 0 {
		return nil, errors.New("app: registration limited to domains, but no domain is allowed")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Events == nil {
		d.Events = discard{}
	}
	if d.Presence == nil {
		d.Presence = discard{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Mail == nil {
		d.Mail = mail.NewLog(d.Log)
	}
	renderer, err := mail.NewRenderer()
	if err != nil {
		return nil, err
	}
	clock := d.Now
	// Times are stored to the microsecond; keep them so everywhere.
	d.Now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	return &Service{
		cfg: cfg, store: d.Store, blobs: d.Blobs, hasher: d.Hasher, issuer: d.Issuer,
		policy: auth.NewPolicy(cfg.PasswordMinLength), log: d.Log, now: d.Now, events: d.Events, agents: d.Presence,
		sender: d.Mail, mails: renderer, unsubKey: unsubscribeKey(cfg.URLKey), mailWake: make(chan struct{}, 1),
		loginIP:      auth.NewLimiter(30*time.Second, 20, d.Now),
		loginAccount: auth.NewLimiter(time.Minute, 5, d.Now),
		registerIP:   auth.NewLimiter(6*time.Minute, 10, d.Now),
	}, nil
}

// Config returns the service's effective configuration.
func (s *Service) Config() Config { return s.cfg }

func rateLimited(wait time.Duration) error {
	return &desk.Error{Kind: desk.KindRateLimited, Message: "Too many attempts. Try again later.", RetryAfter: wait}
}
