package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store"
)

// Sender delivers one rendered message. An error for which
// mail.IsPermanent is true is not retried. *mail.SMTP and *mail.Log
// implement it.
type Sender interface {
	Send(ctx context.Context, m *mail.Message) error
}

// MailerConfig tunes the outbox worker. Zero values take the defaults noted.
type MailerConfig struct {
	MaxAttempts int           // attempts before a mail is failed; default 10
	RetryBase   time.Duration // wait after the first failure, doubled after each; default 30s
	RetryMax    time.Duration // longest wait between attempts; default 1h
	Lease       time.Duration // how long a claimed mail is left to its worker; default 2m
	Poll        time.Duration // how often to look for due mail without a nudge; default 15s
	Batch       int           // mails claimed at once; default 10
	SettleWait  time.Duration // longest a sent mail's outcome waits to be recorded with others (at most Lease/4); default 1s
	KeepSent    time.Duration // sent mails are deleted after; default 7 days
	// ChatHold delays the mail about an unanswered chat message until the
	// chat has become a ticket (normally at once); past it the mail goes
	// out regardless. Default 1m.
	ChatHold time.Duration
}

func (c *MailerConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Batch <= 0 {
		c.Batch = 10
	}
	def(&c.RetryBase, 30*time.Second)
	def(&c.RetryMax, time.Hour)
	def(&c.Lease, 2*time.Minute)
	def(&c.SettleWait, time.Second)
	def(&c.Poll, 15*time.Second)
	def(&c.KeepSent, 7*24*time.Hour)
	def(&c.ChatHold, time.Minute)
}

// backoff returns the wait after the given number of failed attempts:
// RetryBase doubled each time, at most RetryMax, less up to a tenth at
// random so that instances do not retry in step.
func (c *MailerConfig) backoff(attempts int) time.Duration {
	d := c.RetryBase
	for i := 1; i < attempts && d < c.RetryMax; i++ {
		d *= 2
	}
	d = min(d, c.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// RunMailer sends the outbox until ctx ends: due mail at once, then
// whenever a change writes mail on this instance, and every Poll for mail
// written elsewhere or due for a retry. Several instances may run it on one
// PostgreSQL database; each mail is leased to one of them at a time.
func (s *Service) RunMailer(ctx context.Context) {
	purged := time.Time{}
	for {
		for {
			n, err := s.DeliverMail(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "mail outbox", "err", err)
				break
			}
			if n < s.cfg.Mailer.Batch || ctx.Err() != nil {
				break
			}
		}
		if now := s.now(); now.Sub(purged) > time.Hour {
			purged = now
			if n, err := s.store.DeleteSentMail(ctx, now.Add(-s.cfg.Mailer.KeepSent)); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "purge sent mail", "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "purged sent mail", "count", n)
			}
		}
		t := time.NewTimer(s.cfg.Mailer.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.mailWake:
		case <-t.C:
		}
		t.Stop()
	}
}

// DeliverMail claims one batch of due mail, sends it and records the
// outcomes; it returns how many mails it claimed. Outcomes are recorded
// together, in one commit, when the batch is done, and none waits longer
// than SettleWait (a slow mail server): the first outcome to wait starts a
// timer that records every outcome then waiting, while the next mail is
// being sent. Mails not yet sent when half the lease has gone are released
// unsent (due at once), so that no send, which may take up to half the
// lease, can outlast the claim and race another instance's. Delivery stays
// at least once: the mails whose outcome a stopped worker had not recorded
// yet (up to a batch of them, where it used to be one) are sent again once
// their lease runs out.
func (s *Service) DeliverMail(ctx context.Context) (int, error) {
	claimed := time.Now()
	batch, err := s.store.ClaimMail(ctx, s.now(), s.cfg.Mailer.Lease, s.cfg.Mailer.Batch)
	if err != nil {
		return 0, err
	}
	wait := min(s.cfg.Mailer.SettleWait, s.cfg.Mailer.Lease/4)
	// mu guards done and is held while recording, so that DeliverMail
	// returns only once every outcome is recorded.
	var mu sync.Mutex
	var done []store.MailOutcome
	record := func() {
		mu.Lock()
		defer mu.Unlock()
		if len(done) > 0 {
			s.settle(ctx, done)
			done = done[:0]
		}
	}
	var timer *time.Timer
	for i := range batch {
		var o store.MailOutcome
		if time.Since(claimed) > s.cfg.Mailer.Lease/2 {
			o = store.MailOutcome{ID: batch[i].ID, Attempts: batch[i].Attempts, Status: desk.MailPending, At: s.now(),
				Error: "not sent: its batch had used half its lease"}
		} else {
			o = s.deliver(ctx, &batch[i])
		}
		mu.Lock()
		done = append(done, o)
		first := len(done) == 1
		mu.Unlock()
		if first && i < len(batch)-1 {
			timer = time.AfterFunc(wait, record)
		}
	}
	if timer != nil {
		timer.Stop()
	}
	record()
	return len(batch), nil
}

// settle records outcomes in one transaction, or if that fails one by one;
// an outcome that cannot be recorded is logged (its mail is sent again
// once its lease runs out).
func (s *Service) settle(ctx context.Context, outcomes []store.MailOutcome) {
	ctx = context.WithoutCancel(ctx)
	lost, err := s.store.SettleMails(ctx, outcomes)
	if err != nil && len(outcomes) > 1 {
		lost = nil
		for _, o := range outcomes {
			l, err := s.store.SettleMails(ctx, []store.MailOutcome{o})
			if err != nil {
				s.log.WarnContext(ctx, "record mail outcome", "mail_id", o.ID, "err", err)
			}
			lost = append(lost, l...)
		}
	} else if err != nil {
		s.log.WarnContext(ctx, "record mail outcome", "mail_id", outcomes[0].ID, "err", err)
	}
	for _, id := range lost {
		s.log.WarnContext(ctx, "record mail outcome", "mail_id", id, "err", "the mail was claimed again")
	}
}

// deliver makes one attempt at m.
func (s *Service) deliver(ctx context.Context, m *desk.Mail) store.MailOutcome {
	o := store.MailOutcome{ID: m.ID, Attempts: m.Attempts}
	msg, err := s.composeMail(ctx, m)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, s.cfg.Mailer.Lease/2)
		err = s.sender.Send(sctx, msg)
		cancel()
	}
	o.At = s.now()
	switch {
	case err == nil:
		o.Status = desk.MailSent
		s.log.InfoContext(ctx, "mail sent", "mail_id", m.ID, "notice", m.Notice, "user_id", m.UserID, "attempt", m.Attempts)
	case ctx.Err() != nil:
		// Shutting down: due again at once on the next start.
		o.Status, o.Error = desk.MailPending, "interrupted: "+err.Error()
	case mail.IsPermanent(err):
		o.Status, o.Error = desk.MailFailed, err.Error()
		s.log.WarnContext(ctx, "mail refused for good", "mail_id", m.ID, "user_id", m.UserID, "err", err)
	case m.Attempts >= s.cfg.Mailer.MaxAttempts:
		o.Status, o.Error = desk.MailFailed, fmt.Sprintf("gave up after %d attempts: %v", m.Attempts, err)
		s.log.WarnContext(ctx, "mail failed", "mail_id", m.ID, "user_id", m.UserID, "attempts", m.Attempts, "err", err)
	default:
		o.Status, o.Error, o.Next = desk.MailPending, err.Error(), o.At.Add(s.cfg.Mailer.backoff(m.Attempts))
		s.log.InfoContext(ctx, "mail not sent; will retry", "mail_id", m.ID, "attempt", m.Attempts, "next", o.Next, "err", err)
	}
	return o
}

// composeMail renders m for sending. A chat notice names the ticket the
// chat became, if it became one by now.
func (s *Service) composeMail(ctx context.Context, m *desk.Mail) (*mail.Message, error) {
	var d mailData
	if err := json.Unmarshal(m.Data, &d); err != nil {
		return nil, mail.Permanent(fmt.Errorf("mail %d: stored data: %w", m.ID, err))
	}
	ticketID := m.TicketID
	if ticketID == 0 && m.ChatID != 0 {
		if c, err := s.store.ChatByID(ctx, m.ChatID); err == nil {
			ticketID = c.TicketID
		} else if !desk.IsKind(err, desk.KindNotFound) {
			return nil, err
		}
	}
	link := s.cfg.BaseURL + "/"
	if ticketID != 0 {
		link = s.cfg.BaseURL + "/tickets/" + strconv.FormatInt(ticketID, 10)
	}
	unsub := s.cfg.BaseURL + "/unsubscribe?t=" + url.QueryEscape(s.unsubscribeToken(m.UserID, m.Notice, s.now()))
	r, err := s.mails.Render(mail.View{Notice: m.Notice, Recipient: d.Recipient, Content: d.Content, TicketID: ticketID,
		ChatID: m.ChatID, Link: link, PrefsURL: s.cfg.BaseURL + "/settings/notifications", UnsubscribeURL: unsub})
	if err != nil {
		return nil, mail.Permanent(err)
	}
	host := "ticketflow.invalid"
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return &mail.Message{To: m.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Date: m.CreatedAt,
		MessageID:   "tf-mail-" + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.UnixMicro(), 36) + "@" + host,
		Unsubscribe: unsub}, nil
}
