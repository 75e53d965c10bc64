package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/web"
)

// config is every setting, read once from flags and the environment.
// Nothing else in the program reads either.
type config struct {
	Addr        string
	DebugAddr   string // pprof, off when empty
	DataDir     string
	DatabaseURL string
	LogFormat   string
	LogLevel    string
	BaseURL     string
	AutoMigrate bool

	Registration        string
	RegistrationDomains []string
	CORSOrigins         []string
	TrustedProxies      []netip.Prefix

	MaxUploadMB     int
	MaxAttachments  int
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration

	Storage          string // "disk", s3://…, cloudinary://… or "cloudinary"
	CloudinaryURL    string
	CloudinaryCloud  string
	CloudinaryKey    string
	CloudinarySecret string

	TawkPropertyID    string
	TawkWidgetID      string
	TawkAPIKey        string
	TawkEmbedBase     string
	TawkWebhookSecret string
	TawkFallbackUser  string

	SMTPHost         string // empty: mails are logged, not sent
	SMTPPort         int    // 0: 587, 465 with TLS "tls", 25 with "none"
	SMTPUsername     string
	SMTPPassword     string
	SMTPTLS          string // none, starttls or tls
	MailFrom         string
	MailNewTickets   bool // admins get a mail for every new ticket
	MailOfflineChats bool // admins get a mail for a chat message while none is online
	MailRetryBase    time.Duration
	MailMaxAttempts  int
}

// flagSet binds flags whose defaults come from environment variables.
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []error
	post   func() error // runs after a successful parse
}

func newFlagSet(name string, getenv func(string) string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flagSet{FlagSet: fs, getenv: getenv}
}

func (f *flagSet) env(env, def string) string {
	if v := strings.TrimSpace(f.getenv(env)); v != "" {
		return v
	}
	return def
}

func (f *flagSet) str(p *string, name, env, def, help string) {
	f.StringVar(p, name, f.env(env, def), help+" [$"+env+"]")
}

func (f *flagSet) boolean(p *bool, name, env string, def bool, help string) {
	v, err := strconv.ParseBool(f.env(env, strconv.FormatBool(def)))
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("$%s: not a boolean", env))
	}
	f.BoolVar(p, name, v, help+" [$"+env+"]")
}

func (f *flagSet) integer(p *int, name, env string, def int, help string) {
	v, err := strconv.Atoi(f.env(env, strconv.Itoa(def)))
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("$%s: not a whole number", env))
	}
	f.IntVar(p, name, v, help+" [$"+env+"]")
}

func (f *flagSet) duration(p *time.Duration, name, env string, def time.Duration, help string) {
	v, err := time.ParseDuration(f.env(env, def.String()))
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("$%s: not a duration such as 15m or 168h", env))
	}
	f.DurationVar(p, name, v, help+" [$"+env+"]")
}

// parse parses args and reports environment errors too.
func (f *flagSet) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, f.Arg(0))
	}
	if len(f.errs) > 0 {
		return fmt.Errorf("%w: %w", errUsage, errors.Join(f.errs...))
	}
	if f.post != nil {
		return f.post()
	}
	return nil
}

// dbFlags are the flags every command that opens the database takes.
func dbFlags(f *flagSet, c *config) {
	f.str(&c.DataDir, "data-dir", "TICKETFLOW_DATA_DIR", "./data", "directory for the SQLite database, attachments and backups")
	f.str(&c.DatabaseURL, "database-url", "DATABASE_URL", "", "postgres://… to use PostgreSQL instead of SQLite")
	f.str(&c.LogFormat, "log-format", "TICKETFLOW_LOG_FORMAT", "text", "log format: text or json")
	f.str(&c.LogLevel, "log-level", "TICKETFLOW_LOG_LEVEL", "info", "log level: debug, info, warn or error")
}

// serveFlags are the flags of the serve command.
func serveFlags(f *flagSet, c *config) {
	dbFlags(f, c)
	f.str(&c.Addr, "addr", "TICKETFLOW_ADDR", "127.0.0.1:8080", "address to listen on")
	f.str(&c.DebugAddr, "debug-addr", "TICKETFLOW_DEBUG_ADDR", "", "serve Go's pprof profiles on this separate address (off when empty; keep it on loopback)")
	f.str(&c.BaseURL, "base-url", "TICKETFLOW_BASE_URL", "", "public URL used in links and emails, e.g. https://help.example.com")
	f.boolean(&c.AutoMigrate, "migrate", "TICKETFLOW_AUTO_MIGRATE", true, "apply pending migrations at start (false: refuse to start while any are pending)")
	f.str(&c.Registration, "registration", "TICKETFLOW_REGISTRATION", "open", "who may self-register: open, domains or closed")
	var domains, origins, proxies string
	f.str(&domains, "registration-domains", "TICKETFLOW_REGISTRATION_DOMAINS", "", "comma-separated email domains allowed to register (with --registration=domains)")
	f.str(&origins, "cors-origins", "TICKETFLOW_CORS_ORIGINS", "", "comma-separated origins allowed to call the API from a browser")
	f.str(&proxies, "trusted-proxies", "TICKETFLOW_TRUSTED_PROXIES", "", "comma-separated proxy CIDRs whose X-Forwarded-For is believed")
	f.integer(&c.MaxUploadMB, "max-upload-mb", "TICKETFLOW_MAX_UPLOAD_MB", 10, "largest attachment, in MiB")
	f.integer(&c.MaxAttachments, "max-attachments", "TICKETFLOW_MAX_ATTACHMENTS", 5, "most files per ticket or reply")
	f.duration(&c.AccessTTL, "access-ttl", "TICKETFLOW_ACCESS_TTL", 15*time.Minute, "lifetime of API access tokens")
	f.duration(&c.RefreshTTL, "refresh-ttl", "TICKETFLOW_REFRESH_TTL", 7*24*time.Hour, "lifetime of API refresh tokens")
	f.duration(&c.SessionTTL, "session-ttl", "TICKETFLOW_SESSION_TTL", 7*24*time.Hour, "lifetime of browser sessions")
	f.duration(&c.ShutdownTimeout, "shutdown-timeout", "TICKETFLOW_SHUTDOWN_TIMEOUT", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	f.str(&c.Storage, "storage", "TICKETFLOW_STORAGE", "disk", "attachment storage: disk, s3://KEY:SECRET@host:port/bucket?region=…, or cloudinary")
	f.str(&c.CloudinaryURL, "cloudinary-url", "CLOUDINARY_URL", "", "cloudinary://API_KEY:API_SECRET@CLOUD_NAME (with --storage=cloudinary)")
	f.str(&c.TawkPropertyID, "tawk-property-id", "TAWK_PROPERTY_ID", "", "Tawk.to property id (24 hex digits): shows the chat widget on every page")
	f.str(&c.TawkWidgetID, "tawk-widget-id", "TAWK_WIDGET_ID", "default", "Tawk.to widget id")
	f.str(&c.TawkAPIKey, "tawk-api-key", "TAWK_API_KEY", "", "Tawk.to JavaScript API key: turns on Secure Mode (prefer the environment variable)")
	f.str(&c.TawkEmbedBase, "tawk-embed-base", "TAWK_EMBED_BASE", web.DefaultTawkEmbedBase, "where the Tawk.to widget script is loaded from (for tests)")
	f.str(&c.TawkWebhookSecret, "tawk-webhook-secret", "TAWK_WEBHOOK_SECRET", "", "Tawk.to webhook secret; enables POST /api/integrations/tawk")
	f.str(&c.TawkFallbackUser, "tawk-fallback-user", "TAWK_FALLBACK_USER", "", "email or username owning tickets from Tawk.to visitors without an account (default: a built-in inactive tawk-visitor account)")
	f.str(&c.SMTPHost, "smtp-host", "TICKETFLOW_SMTP_HOST", "", "SMTP server for email notifications (empty: mails are logged, not sent)")
	f.integer(&c.SMTPPort, "smtp-port", "TICKETFLOW_SMTP_PORT", 0, "SMTP port (0: 587 for starttls, 465 for tls, 25 for none)")
	f.str(&c.SMTPUsername, "smtp-username", "TICKETFLOW_SMTP_USERNAME", "", "SMTP user name (empty: no authentication)")
	f.str(&c.SMTPPassword, "smtp-password", "TICKETFLOW_SMTP_PASSWORD", "", "SMTP password (prefer the environment variable)")
	f.str(&c.SMTPTLS, "smtp-tls", "TICKETFLOW_SMTP_TLS", mail.TLSStartTLS, "SMTP transport security: none, starttls or tls")
	f.str(&c.MailFrom, "mail-from", "TICKETFLOW_MAIL_FROM", "", "sender of notification emails, e.g. \"TicketFlow <help@example.com>\" (required with --smtp-host)")
	f.boolean(&c.MailNewTickets, "mail-new-tickets", "TICKETFLOW_MAIL_NEW_TICKETS", true, "email admins about every new ticket")
	f.boolean(&c.MailOfflineChats, "mail-offline-chats", "TICKETFLOW_MAIL_OFFLINE_CHATS", true, "email admins about chat messages while no admin is online")
	f.duration(&c.MailRetryBase, "mail-retry-base", "TICKETFLOW_MAIL_RETRY_BASE", 30*time.Second, "wait after a mail's first failed attempt; doubled after each (at most 1h)")
	f.integer(&c.MailMaxAttempts, "mail-max-attempts", "TICKETFLOW_MAIL_MAX_ATTEMPTS", 10, "attempts before a mail is marked failed")
	c.CloudinaryCloud = f.env("CLOUDINARY_CLOUD_NAME", "")
	c.CloudinaryKey = f.env("CLOUDINARY_API_KEY", "")
	c.CloudinarySecret = f.env("CLOUDINARY_API_SECRET", "")
	f.post = func() error {
		c.RegistrationDomains = splitList(domains)
		c.CORSOrigins = splitList(origins)
		for _, p := range splitList(proxies) {
			if !strings.Contains(p, "/") {
				if a, err := netip.ParseAddr(p); err == nil {
					p = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("%w: --trusted-proxies: %q is not an address or CIDR", errUsage, p)
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx)
		}
		return c.validateServe()
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *config) validateServe() error {
	var errs []error
	switch c.Registration {
	case "open", "closed":
	case "domains":
		if len(c.RegistrationDomains) == 0 {
			errs = append(errs, errors.New("--registration=domains needs --registration-domains"))
		}
	default:
		errs = append(errs, fmt.Errorf("--registration must be open, domains or closed, not %q", c.Registration))
	}
	if c.MaxUploadMB < 1 || c.MaxUploadMB > 1024 {
		errs = append(errs, errors.New("--max-upload-mb must be from 1 to 1024"))
	}
	if c.MaxAttachments < 1 || c.MaxAttachments > 50 {
		errs = append(errs, errors.New("--max-attachments must be from 1 to 50"))
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour {
		errs = append(errs, errors.New("--access-ttl must be from 1m to 24h"))
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, errors.New("--base-url must start with http:// or https://"))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	errs = append(errs, c.validateTawk()...)
	errs = append(errs, c.validateSMTP()...)
	if c.TawkWebhookSecret != "" && len(c.TawkWebhookSecret) < 8 {
		errs = append(errs, errors.New("--tawk-webhook-secret is too short to be a Tawk.to secret"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errUsage, errors.Join(errs...))
	}
	return nil
}

// validateTawk checks the chat widget settings; without a property id the
// other settings are ignored (and no third-party script is ever loaded).
func (c *config) validateTawk() []error {
	if c.TawkPropertyID == "" {
		return nil
	}
	var errs []error
	if !web.ValidTawkPropertyID(c.TawkPropertyID) {
		errs = append(errs, fmt.Errorf("--tawk-property-id must be 24 lower-case hex digits, not %q", c.TawkPropertyID))
	}
	if !web.ValidTawkWidgetID(c.TawkWidgetID) {
		errs = append(errs, fmt.Errorf("--tawk-widget-id must be \"default\" or a short lower-case alphanumeric id, not %q", c.TawkWidgetID))
	}
	if u, err := url.Parse(c.TawkEmbedBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		errs = append(errs, errors.New("--tawk-embed-base must be an http(s) URL such as https://embed.tawk.to"))
	}
	c.TawkEmbedBase = strings.TrimRight(c.TawkEmbedBase, "/")
	return errs
}

// validateSMTP checks the mail settings; without a host the others are
// not used (mails are logged), so user or password alone is a mistake.
func (c *config) validateSMTP() []error {
	var errs []error
	if c.MailRetryBase < 10*time.Millisecond || c.MailRetryBase > time.Hour {
		errs = append(errs, errors.New("--mail-retry-base must be from 10ms to 1h"))
	}
	if c.MailMaxAttempts < 1 || c.MailMaxAttempts > 100 {
		errs = append(errs, errors.New("--mail-max-attempts must be from 1 to 100"))
	}
	if c.SMTPHost == "" {
		if c.SMTPUsername != "" || c.SMTPPassword != "" {
			errs = append(errs, errors.New("--smtp-username and --smtp-password need --smtp-host"))
		}
		return errs
	}
	switch c.SMTPTLS {
	case mail.TLSNone, mail.TLSStartTLS, mail.TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("--smtp-tls must be none, starttls or tls, not %q", c.SMTPTLS))
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		errs = append(errs, errors.New("--smtp-port must be from 1 to 65535 (or 0 for the default)"))
	}
	if a, err := netmail.ParseAddress(c.MailFrom); err != nil || desk.ValidateEmail(a.Address) != "" {
		errs = append(errs, errors.New("--mail-from must be an address such as \"TicketFlow <help@example.com>\" when --smtp-host is set"))
	}
	return errs
}

// sqlitePath is where the embedded database lives.
func (c *config) sqlitePath() string { return filepath.Join(c.DataDir, "ticketflow.db") }

// newLogger builds the process logger from the config.
func newLogger(c *config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level must be debug, info, warn or error", errUsage)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format must be text or json", errUsage)
}
