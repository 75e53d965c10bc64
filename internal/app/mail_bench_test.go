package app_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/auth"
	"ticketflow/internal/blob"
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
	blobs, _ := blob.NewDisk(filepath.Join(b.TempDir(), "blobs"))
	issuer, _ := auth.NewIssuer([]byte(strings.Repeat("k", 32)), time.Minute, time.Now)
	accept := senderFunc(func(context.Context, *mail.Message) error { return nil })
	svc, err := app.New(mailConfig(), app.Deps{Store: db, Blobs: blobs, Hasher: auth.NewHasher(auth.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2),
		Issuer: issuer, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mail: accept})
	if err != nil {
		b.Fatal(err)
	}
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
