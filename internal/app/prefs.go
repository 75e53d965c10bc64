package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

// UnsubscribeTTL is how long the unsubscribe link of a mail works.
const UnsubscribeTTL = 60 * 24 * time.Hour

// NotificationPrefs says, for each notice the actor may receive, whether
// it is on.
func (s *Service) NotificationPrefs(ctx context.Context, actor *desk.User) (map[desk.Notice]bool, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	off, err := s.store.UserOptOuts(ctx, actor.ID)
	if err != nil {
		return nil, err
	}
	out := map[desk.Notice]bool{}
	for _, n := range desk.NoticesFor(actor) {
		out[n] = !off[n]
	}
	return out, nil
}

// SetNotificationPrefs turns the named notices on (true) or off (false)
// for the actor and returns the result. Unknown names, and admins' notices
// for a non-admin, are field errors.
func (s *Service) SetNotificationPrefs(ctx context.Context, actor *desk.User, in map[string]bool) (map[desk.Notice]bool, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	allowed := map[desk.Notice]bool{}
	for _, n := range desk.NoticesFor(actor) {
		allowed[n] = true
	}
	var errs desk.FieldErrors
	off := map[desk.Notice]bool{}
	for name, on := range in {
		n, ok := desk.ParseNotice(name)
		switch {
		case !ok:
			errs.Add(name, "Unknown notification.")
		case !allowed[n]:
			errs.Add(name, "Only admins receive this notification.")
		default:
			off[n] = !on
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(off) > 0 {
		if err := s.store.SetOptOuts(ctx, actor.ID, off, s.now()); err != nil {
			return nil, err
		}
		s.log.InfoContext(ctx, "notification settings changed", "user_id", actor.ID)
	}
	return s.NotificationPrefs(ctx, actor)
}

// Unsubscription is what an unsubscribe link is for.
type Unsubscription struct {
	User   *desk.User
	Notice desk.Notice
	Off    bool // already turned off
}

var errBadUnsubscribe = desk.Errorf(desk.KindNotFound,
	"This unsubscribe link is invalid or has expired. Sign in to change your notification settings.")

// UnsubscribeLink checks an unsubscribe token from a mail (no sign-in
// needed: the token is signed and expires) and says what it would turn
// off. A bad or expired token, or one for a deactivated account, is
// KindNotFound.
func (s *Service) UnsubscribeLink(ctx context.Context, token string) (*Unsubscription, error) {
	userID, n, ok := s.verifyUnsubscribe(token, s.now())
	if !ok {
		return nil, errBadUnsubscribe
	}
	u, err := s.store.UserByID(ctx, userID)
	if desk.IsKind(err, desk.KindNotFound) || (err == nil && !u.Active) {
		return nil, errBadUnsubscribe
	}
	if err != nil {
		return nil, err
	}
	off, err := s.store.UserOptOuts(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &Unsubscription{User: u, Notice: n, Off: off[n]}, nil
}

// Unsubscribe turns off the notice an unsubscribe token names, for the
// user it names; doing it twice is harmless.
func (s *Service) Unsubscribe(ctx context.Context, token string) (*Unsubscription, error) {
	sub, err := s.UnsubscribeLink(ctx, token)
	if err != nil {
		return nil, err
	}
	if !sub.Off {
		if err := s.store.SetOptOuts(ctx, sub.User.ID, map[desk.Notice]bool{sub.Notice: true}, s.now()); err != nil {
			return nil, err
		}
		s.log.InfoContext(ctx, "unsubscribed by link", "user_id", sub.User.ID, "notice", sub.Notice)
	}
	sub.Off = true
	return sub, nil
}

// unsubscribeKey derives the key of unsubscribe links from the URL key, so
// that a token of one kind is never valid as another.
func unsubscribeKey(master []byte) []byte {
	if len(master) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("ticketflow/unsubscribe links"))
	return m.Sum(nil)
}

func (s *Service) unsubscribeMAC(userID int64, n desk.Notice, exp int64) string {
	m := hmac.New(sha256.New, s.unsubKey)
	m.Write([]byte("unsubscribe:" + strconv.FormatInt(userID, 10) + ":" + string(n) + ":" + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// unsubscribeToken returns "user.notice.expiry.mac", valid for
// UnsubscribeTTL from now.
func (s *Service) unsubscribeToken(userID int64, n desk.Notice, now time.Time) string {
	exp := now.Add(UnsubscribeTTL).Unix()
	return strconv.FormatInt(userID, 36) + "." + string(n) + "." + strconv.FormatInt(exp, 36) + "." + s.unsubscribeMAC(userID, n, exp)
}

func (s *Service) verifyUnsubscribe(token string, now time.Time) (int64, desk.Notice, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 {
		return 0, "", false
	}
	userID, err1 := strconv.ParseInt(parts[0], 36, 64)
	n, known := desk.ParseNotice(parts[1])
	exp, err2 := strconv.ParseInt(parts[2], 36, 64)
	if err1 != nil || err2 != nil || !known || userID <= 0 || now.Unix() >= exp {
		return 0, "", false
	}
	if !hmac.Equal([]byte(parts[3]), []byte(s.unsubscribeMAC(userID, n, exp))) {
		return 0, "", false
	}
	return userID, n, true
}

// OutboxQuery selects outbox mails for the admins' view.
type OutboxQuery struct {
	Status         string // "", pending, sent or failed
	Page, PageSize int
}

// Outbox lists the mail outbox, newest first (admins only): failed mails
// are the ones to look at.
func (s *Service) Outbox(ctx context.Context, actor *desk.User, q OutboxQuery) ([]desk.Mail, int, error) {
	if actor == nil || !actor.Active {
		return nil, 0, ErrNotAuthenticated
	}
	if !actor.IsAdmin() {
		return nil, 0, forbidden()
	}
	f := store.MailFilter{Limit: q.PageSize, Offset: (max(q.Page, 1) - 1) * max(q.PageSize, 1)}
	if q.Status != "" {
		st, ok := desk.ParseMailStatus(q.Status)
		if !ok {
			return nil, 0, desk.Invalid("status", `Must be one of "pending", "sent", "failed".`)
		}
		f.Status = st
	}
	return s.store.Mails(ctx, f)
}

// RetryMail queues a failed mail again, due at once with its attempts
// reset (admins only). A mail that has not failed is KindConflict.
func (s *Service) RetryMail(ctx context.Context, actor *desk.User, id int64) (*desk.Mail, error) {
	if actor == nil || !actor.Active {
		return nil, ErrNotAuthenticated
	}
	if !actor.IsAdmin() {
		return nil, forbidden()
	}
	m, err := s.store.RetryMail(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "mail queued again", "mail_id", id, "by", actor.ID)
	s.wakeMailer([]desk.Mail{*m})
	return m, nil
}
