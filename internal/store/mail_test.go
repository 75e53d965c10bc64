package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

func mailTo(u *desk.User, n desk.Notice) desk.Mail {
	return desk.Mail{Notice: n, UserID: u.ID, To: u.Email, Data: []byte(`{"title":"x"}`)}
}

func outbox(t *testing.T, db *store.DB) []desk.Mail {
	t.Helper()
	ms, n, err := db.Mails(context.Background(), store.MailFilter{Limit: 200})
	if err != nil || n != len(ms) {
		t.Fatalf("outbox: %d of %d, %v", len(ms), n, err)
	}
	return ms
}

// TestMailEnqueuedWithTheChange checks that every change that notifies
// writes its mails in its own transaction: they exist exactly when the
// change committed.
func TestMailEnqueuedWithTheChange(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		root := mkUser(t, db, "root", desk.RoleAdmin)

		tk := &desk.Ticket{Title: "VPN", Description: "down", Category: desk.CategoryTechnical, Status: desk.StatusNew,
			Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateTicket(ctx, tk, mailTo(root, desk.NoticeNewTicket)); err != nil {
			t.Fatal(err)
		}
		ms := outbox(t, db)
		if len(ms) != 1 || ms[0].TicketID != tk.ID || ms[0].Status != desk.MailPending || ms[0].To != root.Email ||
			ms[0].Notice != desk.NoticeNewTicket || !ms[0].NextAttemptAt.Equal(t0) || string(ms[0].Data) != `{"title":"x"}` {
			t.Fatalf("after create: %+v", ms)
		}

		// A status change that loses its race stores neither the change nor the mail.
		stale := &desk.StatusChange{TicketID: tk.ID, From: desk.StatusUnderReview, To: desk.StatusResolved, By: root.Ref(), At: t0}
		if err := db.UpdateTicketStatus(ctx, stale, mailTo(jane, desk.NoticeStatus)); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("stale change: %v", err)
		}
		ok := &desk.StatusChange{TicketID: tk.ID, From: desk.StatusNew, To: desk.StatusUnderReview, By: root.Ref(), At: t0.Add(time.Second)}
		if err := db.UpdateTicketStatus(ctx, ok, mailTo(jane, desk.NoticeStatus)); err != nil {
			t.Fatal(err)
		}
		if ms := outbox(t, db); len(ms) != 2 || ms[0].Notice != desk.NoticeStatus || ms[0].TicketID != tk.ID {
			t.Fatalf("after status: %+v", ms)
		}

		// A comment on a missing ticket stores no mail; one that commits does.
		if err := db.CreateComment(ctx, &desk.Comment{TicketID: 9999, Author: root.Ref(), Body: "x", CreatedAt: t0}, mailTo(jane, desk.NoticeReply)); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("comment on a missing ticket: %v", err)
		}
		if err := db.CreateComment(ctx, &desk.Comment{TicketID: tk.ID, Author: root.Ref(), Body: "hi", CreatedAt: t0}, mailTo(jane, desk.NoticeReply)); err != nil {
			t.Fatal(err)
		}
		if ms := outbox(t, db); len(ms) != 3 || ms[0].Notice != desk.NoticeReply || ms[0].TicketID != tk.ID {
			t.Fatalf("after reply: %+v", ms)
		}

		// Chat messages: only into an open chat; the mail names the chat.
		chat, _, err := db.OpenChat(ctx, jane.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddChatMessage(ctx, &desk.ChatMessage{ChatID: chat.ID, Author: jane.Ref(), Body: "hello", CreatedAt: t0}, mailTo(root, desk.NoticeChat)); err != nil {
			t.Fatal(err)
		}
		ms = outbox(t, db)
		if len(ms) != 4 || ms[0].ChatID != chat.ID || ms[0].TicketID != 0 {
			t.Fatalf("after chat message: %+v", ms)
		}
		ct := &desk.Ticket{Title: "From chat", Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
			Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateTicketFromChat(ctx, ct, chat.ID, t0, mailTo(root, desk.NoticeNewTicket)); err != nil {
			t.Fatal(err)
		}
		again := *ct
		again.ID = 0
		if err := db.CreateTicketFromChat(ctx, &again, chat.ID, t0, mailTo(root, desk.NoticeNewTicket)); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("second conversion: %v", err)
		}
		if err := db.AddChatMessage(ctx, &desk.ChatMessage{ChatID: chat.ID, Author: jane.Ref(), Body: "late", CreatedAt: t0}, mailTo(root, desk.NoticeChat)); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("message into a closed chat: %v", err)
		}
		if ms := outbox(t, db); len(ms) != 5 || ms[0].TicketID != ct.ID {
			t.Fatalf("after chat conversion: %+v", ms)
		}

		// Webhook tickets: mails with the ticket that is created, not with a redelivery.
		for range 2 {
			wt := &desk.Ticket{Title: "Tawk", Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
				Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
			if _, err := db.CreateTicketOnce(ctx, wt, []string{"ev:1"}, t0, mailTo(root, desk.NoticeNewTicket)); err != nil {
				t.Fatal(err)
			}
		}
		if ms := outbox(t, db); len(ms) != 6 {
			t.Fatalf("after webhook tickets: %d mails", len(ms))
		}
	})
}

func TestMailClaimSettleRetry(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := mkUser(t, db, "root", desk.RoleAdmin)
		mkTicket(t, db, root, "a", "b", desk.CategoryProduct, t0) // a ticket to hang mails on
		var mails []desk.Mail
		for i := range 3 {
			m := mailTo(root, desk.NoticeNewTicket)
			m.CreatedAt = t0.Add(time.Duration(i) * time.Second)
			mails = append(mails, m)
		}
		later := mailTo(root, desk.NoticeNewTicket)
		later.CreatedAt, later.NextAttemptAt = t0, t0.Add(time.Hour)
		mails = append(mails, later)
		if err := db.EnqueueMail(ctx, t0, mails...); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Minute)
		got, err := db.ClaimMail(ctx, now, time.Minute, 2)
		if err != nil || len(got) != 2 || got[0].ID != mails[0].ID || got[1].ID != mails[1].ID || got[0].Attempts != 1 {
			t.Fatalf("first claim: %+v %v", got, err)
		}
		rest, _ := db.ClaimMail(ctx, now, time.Minute, 10)
		if len(rest) != 1 || rest[0].ID != mails[2].ID {
			t.Fatalf("second claim must get only the unleased, due mail: %+v", rest)
		}
		if none, _ := db.ClaimMail(ctx, now, time.Minute, 10); len(none) != 0 {
			t.Fatalf("leased mails claimed again: %+v", none)
		}

		// Sent.
		if err := db.SettleMail(ctx, store.MailOutcome{ID: got[0].ID, Attempts: 1, Status: desk.MailSent, At: now}); err != nil {
			t.Fatal(err)
		}
		// Retry later, with the reason.
		if err := db.SettleMail(ctx, store.MailOutcome{ID: got[1].ID, Attempts: 1, Status: desk.MailPending, Next: now.Add(time.Hour), Error: "421 busy", At: now}); err != nil {
			t.Fatal(err)
		}
		// The third's worker died: its lease runs out and another claims it.
		again, _ := db.ClaimMail(ctx, now.Add(2*time.Minute), time.Minute, 10)
		if len(again) != 1 || again[0].ID != mails[2].ID || again[0].Attempts != 2 {
			t.Fatalf("expired lease: %+v", again)
		}
		if err := db.SettleMail(ctx, store.MailOutcome{ID: mails[2].ID, Attempts: 1, Status: desk.MailSent, At: now}); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("settling a claim that was taken over: %v", err)
		}
		if err := db.SettleMail(ctx, store.MailOutcome{ID: mails[2].ID, Attempts: 2, Status: desk.MailFailed, Error: "550 no such user", At: now}); err != nil {
			t.Fatal(err)
		}

		m0, _ := db.MailByID(ctx, mails[0].ID)
		m1, _ := db.MailByID(ctx, mails[1].ID)
		m2, _ := db.MailByID(ctx, mails[2].ID)
		if m0.Status != desk.MailSent || !m0.SentAt.Equal(now) || m1.Status != desk.MailPending || m1.LastError != "421 busy" ||
			!m1.NextAttemptAt.Equal(now.Add(time.Hour)) || m2.Status != desk.MailFailed || m2.LastError != "550 no such user" {
			t.Fatalf("settled: %+v\n%+v\n%+v", m0, m1, m2)
		}
		if _, err := db.MailByID(ctx, 9999); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("missing mail: %v", err)
		}
		failed, n, err := db.Mails(ctx, store.MailFilter{Status: desk.MailFailed})
		if err != nil || n != 1 || len(failed) != 1 || failed[0].ID != m2.ID {
			t.Fatalf("failed list: %+v %d %v", failed, n, err)
		}

		// An admin retries the failed mail: due now, attempts reset.
		r, err := db.RetryMail(ctx, m2.ID, now.Add(3*time.Minute))
		if err != nil || r.Status != desk.MailPending || r.Attempts != 0 {
			t.Fatalf("retry: %+v %v", r, err)
		}
		if _, err := db.RetryMail(ctx, m2.ID, now); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("retrying a pending mail: %v", err)
		}
		if _, err := db.RetryMail(ctx, 9999, now); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("retrying a missing mail: %v", err)
		}
		if got, _ := db.ClaimMail(ctx, now.Add(3*time.Minute), time.Minute, 10); len(got) != 1 || got[0].ID != m2.ID || got[0].Attempts != 1 {
			t.Fatalf("claim after retry: %+v", got)
		}

		// Housekeeping drops sent mails only.
		if n, err := db.DeleteSentMail(ctx, now.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("delete sent: %d %v", n, err)
		}
		if ms := outbox(t, db); len(ms) != 3 {
			t.Fatalf("after delete: %d", len(ms))
		}
	})
}

// TestMailSettleBatch records a batch of outcomes at once: those still in
// their claim are recorded, the one whose claim was taken over is reported
// and left to its new worker. On SQLite the outbox's bookkeeping leaves
// the write version (and so the cached ticket lists) alone.
func TestMailSettleBatch(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := mkUser(t, db, "root", desk.RoleAdmin)
		mails := []desk.Mail{mailTo(root, desk.NoticeNewTicket), mailTo(root, desk.NoticeNewTicket), mailTo(root, desk.NoticeNewTicket)}
		v0, _ := db.WriteVersion()
		if err := db.EnqueueMail(ctx, t0, mails...); err != nil {
			t.Fatal(err)
		}
		v1, cached := db.WriteVersion()
		if cached && v1 == v0 {
			t.Fatal("enqueueing mail on its own must count as a write")
		}
		now := t0.Add(time.Minute)
		got, err := db.ClaimMail(ctx, now, time.Minute, 10)
		if err != nil || len(got) != 3 || got[2].Attempts != 1 {
			t.Fatalf("claim: %+v %v", got, err)
		}
		lost, err := db.SettleMails(ctx, []store.MailOutcome{
			{ID: got[0].ID, Attempts: 1, Status: desk.MailSent, At: now},
			{ID: got[1].ID, Attempts: 1, Status: desk.MailFailed, Error: "550 no such user", At: now},
			// A claim this worker does not hold (as if its lease had run
			// out and another worker had claimed the mail since).
			{ID: got[2].ID, Attempts: 2, Status: desk.MailSent, At: now},
		})
		if err != nil || len(lost) != 1 || lost[0] != got[2].ID {
			t.Fatalf("settle: lost %v, %v", lost, err)
		}
		m0, _ := db.MailByID(ctx, got[0].ID)
		m1, _ := db.MailByID(ctx, got[1].ID)
		m2, _ := db.MailByID(ctx, got[2].ID)
		if m0.Status != desk.MailSent || !m0.SentAt.Equal(now) || m1.Status != desk.MailFailed || m1.LastError != "550 no such user" ||
			m2.Status != desk.MailPending || m2.Attempts != 1 || !m2.SentAt.IsZero() {
			t.Fatalf("settled: %+v\n%+v\n%+v", m0, m1, m2)
		}
		if v2, _ := db.WriteVersion(); v2 != v1 {
			t.Errorf("claiming and settling mail moved the write version: %d → %d", v1, v2)
		}
		if lost, err := db.SettleMails(ctx, nil); err != nil || lost != nil {
			t.Errorf("nothing to settle: %v %v", lost, err)
		}
	})
}

// TestMailClaimConcurrent has several workers claim at once: every mail is
// claimed exactly once.
func TestMailClaimConcurrent(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		root := mkUser(t, db, "root", desk.RoleAdmin)
		var mails []desk.Mail
		for range 40 {
			mails = append(mails, mailTo(root, desk.NoticeNewTicket))
		}
		if err := db.EnqueueMail(ctx, t0, mails...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for {
					got, err := db.ClaimMail(ctx, t0, time.Hour, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != len(mails) {
			t.Fatalf("claimed %d distinct mails of %d", len(seen), len(mails))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("mail %d claimed %d times", id, n)
			}
		}
	})
}

func TestMailOptOuts(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		root := mkUser(t, db, "root", desk.RoleAdmin)
		if err := db.SetOptOuts(ctx, jane.ID, map[desk.Notice]bool{desk.NoticeReply: true, desk.NoticeStatus: false}, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.SetOptOuts(ctx, jane.ID, map[desk.Notice]bool{desk.NoticeReply: true}, t0); err != nil {
			t.Fatalf("opting out twice: %v", err)
		}
		if err := db.SetOptOuts(ctx, root.ID, map[desk.Notice]bool{desk.NoticeChat: true}, t0); err != nil {
			t.Fatal(err)
		}
		off, err := db.UserOptOuts(ctx, jane.ID)
		if err != nil || len(off) != 1 || !off[desk.NoticeReply] {
			t.Fatalf("jane: %v %v", off, err)
		}
		who, err := db.MailOptOuts(ctx, desk.NoticeChat, []int64{jane.ID, root.ID})
		if err != nil || len(who) != 1 || !who[root.ID] {
			t.Fatalf("chat opt-outs: %v %v", who, err)
		}
		if err := db.SetOptOuts(ctx, jane.ID, map[desk.Notice]bool{desk.NoticeReply: false}, t0); err != nil {
			t.Fatal(err)
		}
		if off, _ := db.UserOptOuts(ctx, jane.ID); len(off) != 0 {
			t.Fatalf("after opting back in: %v", off)
		}
		if err := db.SetOptOuts(ctx, 9999, map[desk.Notice]bool{desk.NoticeReply: true}, t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("missing user: %v", err)
		}
	})
}
