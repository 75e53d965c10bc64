package web_test

import (
	"context"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/web/webtest"
)

// failedMail puts a mail to userID in the outbox and fails it, as a 5xx
// reply would, and returns its id.
func failedMail(t *testing.T, e *webtest.Env, userID int64) int64 {
	t.Helper()
	ctx := context.Background()
	now := e.Clock.Now()
	m := desk.Mail{Notice: desk.NoticeNewTicket, UserID: userID, To: "x@example.com", Data: []byte(`{}`), CreatedAt: now.Add(-time.Hour)}
	if err := e.DB.EnqueueMail(ctx, now, m); err != nil {
		t.Fatal(err)
	}
	ms, err := e.DB.ClaimMail(ctx, now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, c := range ms {
		if err := e.DB.SettleMail(ctx, store.MailOutcome{ID: c.ID, Attempts: c.Attempts, Status: desk.MailFailed, Error: "550 no such user", At: now}); err != nil {
			t.Fatal(err)
		}
		id = max(id, c.ID)
	}
	return id
}
