// Package mail turns notifications into email messages and sends them:
// through an SMTP server, or, when none is configured, into the log. It
// knows nothing of the outbox; package app claims mails, renders them here
// and records the outcome.
package mail

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Message is one rendered email to one recipient.
type Message struct {
	To        string
	Subject   string
	Text      string // the text/plain part
	HTML      string // the text/html part
	MessageID string // without angle brackets; stable across retries so receivers can drop duplicates
	Date      time.Time
	// Unsubscribe is the one-click unsubscribe URL (RFC 8058): sent as
	// List-Unsubscribe with List-Unsubscribe-Post when set.
	Unsubscribe string
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err as a failure that must not be retried.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err is a permanent delivery failure: the
// SMTP server refused the message with a 5xx reply, or the message itself
// is unusable. Anything else (no connection, a 4xx reply, a timeout) is
// worth retrying.
func IsPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	return smtpPermanent(err)
}

// Log is the sender used when no SMTP server is configured: it logs each
// message instead of sending it, and reports success.
type Log struct {
	log *slog.Logger
}

// NewLog returns a sender that writes to log.
func NewLog(log *slog.Logger) *Log { return &Log{log: log} }

// Send logs m at info level and never fails.
func (l *Log) Send(ctx context.Context, m *Message) error {
	l.log.InfoContext(ctx, "email not sent: no SMTP server configured", "to", m.To, "subject", m.Subject,
		"message_id", m.MessageID, "text", m.Text)
	return nil
}
