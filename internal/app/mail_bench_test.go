package app_test

import (
	"context"
	"io"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/mail"
	"ticketflow/internal/store/storetest"
)

// BenchmarkMailDrain sends a backlog of new-ticket mails from a SQLite
// outbox to a mail server that accepts at once: the outbox's own cost per
// mail (claim, render, record the outcome), the work a desk does after a
// burst of tickets.
//
//	go test -run '^$' -bench MailDrain -benchtime 5000x ./internal/app/
func BenchmarkMailDrain(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	accept := senderFunc(func(context.Context, *mail.Message) error { return nil })
	svc := mailService(b, db, mailConfig(), accept, io.Discard)
	admin := &desk.User{Email: "root@example.com", Username: "root", PasswordHash: "x", Role: desk.RoleAdmin, Active: true, DateJoined: time.Now()}
	user := &desk.User{Email: "jane@example.com", Username: "jane", PasswordHash: "x", Role: desk.RoleUser, Active: true, DateJoined: time.Now()}
	for _, u := range []*desk.User{admin, user} {
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		if _, err := svc.CreateTicket(ctx, user, desk.NewTicket{Title: "Printer jams", Description: "Every second page.", Category: "Technical"}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := svc.DeliverMail(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("%d of %d mails sent, none due", sent, b.N)
		}
		sent += n
	}
	b.StopTimer()
	if left := len(outbox(b, db, desk.MailPending)); left != 0 {
		b.Fatalf("%d mails left pending", left)
	}
}
