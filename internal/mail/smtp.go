package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP connection.
const (
	TLSNone     = "none"     // plain text (a relay on localhost)
	TLSStartTLS = "starttls" // upgrade with STARTTLS; refuse a server without it (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int    // default 587, or 465 with TLSImplicit, 25 with TLSNone
	Username string // empty: no authentication
	Password string
	TLS      string // TLSNone, TLSStartTLS (default) or TLSImplicit
	From     string // "Name <address>" or an address
	Timeout  time.Duration
	// TLSConfig overrides the TLS settings (tests trust their own CA);
	// nil verifies the server's certificate for Host.
	TLSConfig *tls.Config
}

// SMTP sends messages through one SMTP server, one connection per message.
type SMTP struct {
	client *gomail.Client
	from   *mail.Address
}

// NewSMTP checks cfg and returns a sender. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: the sender address %q: %w", cfg.From, err)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithPort(orPort(cfg.Port, 25)))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithPort(orPort(cfg.Port, 587)))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(orPort(cfg.Port, 465)))
	default:
		return nil, fmt.Errorf("mail: TLS mode must be none, starttls or tls, not %q", cfg.TLS)
	}
	if cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(cfg.TLSConfig))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return &SMTP{client: c, from: from}, nil
}

func orPort(p, def int) int {
	if p > 0 {
		return p
	}
	return def
}

// Send delivers m. Errors that IsPermanent reports are the server's 5xx
// refusals (or an unusable address); others are worth retrying.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := s.build(m)
	if err != nil {
		return Permanent(err)
	}
	err = s.client.DialAndSendWithContext(ctx, msg)
	if err != nil && msg.IsDelivered() {
		// Accepted; only the RSET or QUIT after it failed.
		return nil
	}
	return err
}

func (s *SMTP) build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, err
	}
	msg.Subject(oneLine(m.Subject))
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	// Automatic notifications: no out-of-office replies, please.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	if m.Unsubscribe != "" {
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+m.Unsubscribe+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// oneLine keeps a header value on one line whatever the user typed.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// smtpPermanent reports whether err carries a 5xx reply to the message.
func smtpPermanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode() >= 500 && se.ErrorCode() <= 599
	}
	return false
}
