package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

func TestComments(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		root := mkUser(t, db, "root", desk.RoleAdmin)
		tk := mkTicket(t, db, jane, "VPN", "down", desk.CategoryTechnical, t0)
		reply := &desk.Comment{TicketID: tk.ID, Author: jane.Ref(), Body: "still down", CreatedAt: t0.Add(time.Minute),
			Attachments: []desk.Attachment{{Key: "k-reply.txt", Filename: "log.txt", ContentType: "text/plain", Size: 3, SHA256: "x", UploadedBy: jane.ID, CreatedAt: t0}}}
		if err := db.ReserveBlob(ctx, "k-reply.txt", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateComment(ctx, reply); err != nil || reply.ID == 0 || reply.Attachments[0].ID == 0 {
			t.Fatalf("create reply: %v %+v", err, reply)
		}
		note := &desk.Comment{TicketID: tk.ID, Author: root.Ref(), Body: "user is on old client", Internal: true, CreatedAt: t0.Add(2 * time.Minute),
			Attachments: []desk.Attachment{{Key: "k-note.png", Filename: "n.png", ContentType: "image/png", Size: 3, SHA256: "y", UploadedBy: root.ID, CreatedAt: t0}}}
		if err := db.CreateComment(ctx, note); err != nil {
			t.Fatal(err)
		}
		if keys, _ := db.StaleBlobIntents(ctx, t0.Add(time.Hour), 10); len(keys) != 0 {
			t.Errorf("intent not released: %v", keys)
		}
		got, err := db.TicketByID(ctx, tk.ID)
		if err != nil || !got.UpdatedAt.Equal(reply.CreatedAt) || len(got.Attachments) != 0 {
			t.Fatalf("ticket after comments: updated %v (want the reply's time, not the note's), %d ticket attachments, %v", got.UpdatedAt, len(got.Attachments), err)
		}
		public, err := db.Comments(ctx, store.CommentFilter{TicketID: tk.ID})
		if err != nil || len(public) != 1 || public[0].Body != "still down" || len(public[0].Attachments) != 1 || public[0].Author.Username != "jane" {
			t.Fatalf("public comments: %+v %v", public, err)
		}
		all, err := db.Comments(ctx, store.CommentFilter{TicketID: tk.ID, IncludeInternal: true})
		if err != nil || len(all) != 2 || !all[1].Internal || all[1].Attachments[0].Filename != "n.png" || !all[1].CreatedAt.Equal(note.CreatedAt) {
			t.Fatalf("all comments: %+v %v", all, err)
		}
		after, _ := db.Comments(ctx, store.CommentFilter{TicketID: tk.ID, IncludeInternal: true, AfterID: reply.ID})
		if len(after) != 1 || after[0].ID != note.ID {
			t.Fatalf("after: %+v", after)
		}
		c, err := db.CommentByID(ctx, note.ID)
		if err != nil || !c.Internal || c.TicketID != tk.ID || len(c.Attachments) != 1 {
			t.Fatalf("CommentByID: %+v %v", c, err)
		}
		a, _ := db.AttachmentByID(ctx, note.Attachments[0].ID)
		if a.CommentID != note.ID {
			t.Fatalf("attachment comment id %d", a.CommentID)
		}
		if _, err := db.CommentByID(ctx, 9999); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("missing comment: %v", err)
		}
		if err := db.CreateComment(ctx, &desk.Comment{TicketID: 9999, Author: jane.Ref(), Body: "x", CreatedAt: t0}); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("comment on a missing ticket: %v", err)
		}
	})
}

func TestChats(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		bob := mkUser(t, db, "bob", desk.RoleUser)
		root := mkUser(t, db, "root", desk.RoleAdmin)

		// Concurrent opens make one chat.
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		created := make([]bool, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, isNew, err := db.OpenChat(ctx, jane.ID, t0)
				if err != nil {
					t.Errorf("OpenChat: %v", err)
					return
				}
				ids[i], created[i] = c.ID, isNew
			}()
		}
		wg.Wait()
		news := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Fatalf("two open chats: %v", ids)
			}
			if created[i] {
				news++
			}
		}
		if news != 1 {
			t.Fatalf("%d callers created the chat", news)
		}
		chat, _ := db.ChatByID(ctx, ids[0])
		if chat.Status != desk.ChatOpen || chat.User.Username != "jane" || !chat.CreatedAt.Equal(t0) || chat.TicketID != 0 {
			t.Fatalf("chat: %+v", chat)
		}
		for i, m := range []*desk.ChatMessage{
			{ChatID: chat.ID, Author: jane.Ref(), Body: "printer on fire"},
			{ChatID: chat.ID, Author: root.Ref(), FromAgent: true, Body: "on my way"},
		} {
			m.CreatedAt = t0.Add(time.Duration(i+1) * time.Minute)
			if err := db.AddChatMessage(ctx, m); err != nil || m.ID == 0 {
				t.Fatalf("message: %v", err)
			}
		}
		msgs, err := db.ChatMessages(ctx, chat.ID, 0)
		if err != nil || len(msgs) != 2 || msgs[1].Body != "on my way" || !msgs[1].FromAgent || msgs[0].FromAgent || msgs[0].Author.ID != jane.ID {
			t.Fatalf("messages: %+v %v", msgs, err)
		}
		if m, _ := db.ChatMessages(ctx, chat.ID, msgs[0].ID); len(m) != 1 {
			t.Fatalf("after: %+v", m)
		}
		bobChat, _, _ := db.OpenChat(ctx, bob.ID, t0.Add(10*time.Minute))
		inbox, err := db.Chats(ctx, store.ChatFilter{Status: desk.ChatOpen})
		if err != nil || len(inbox) != 2 || inbox[0].ID != bobChat.ID || inbox[1].LastMessage != "on my way" {
			t.Fatalf("inbox: %+v %v", inbox, err)
		}
		if mine, _ := db.Chats(ctx, store.ChatFilter{UserID: jane.ID}); len(mine) != 1 || mine[0].ID != chat.ID {
			t.Fatalf("jane's chats: %+v", mine)
		}

		// Close; a closed chat takes no messages and cannot close twice.
		closed, err := db.CloseChat(ctx, bobChat.ID, t0.Add(time.Hour))
		if err != nil || closed.Status != desk.ChatClosed || !closed.ClosedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("close: %+v %v", closed, err)
		}
		if _, err := db.CloseChat(ctx, bobChat.ID, t0); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("second close: %v", err)
		}
		if err := db.AddChatMessage(ctx, &desk.ChatMessage{ChatID: bobChat.ID, Author: bob.Ref(), Body: "x", CreatedAt: t0}); !desk.IsKind(err, desk.KindConflict) {
			t.Errorf("message to closed chat: %v", err)
		}
		if err := db.AddChatMessage(ctx, &desk.ChatMessage{ChatID: 9999, Author: bob.Ref(), Body: "x", CreatedAt: t0}); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("message to missing chat: %v", err)
		}
		if _, err := db.OpenChatOf(ctx, bob.ID); !desk.IsKind(err, desk.KindNotFound) {
			t.Errorf("bob still has an open chat: %v", err)
		}
		if again, isNew, _ := db.OpenChat(ctx, bob.ID, t0); !isNew || again.ID == bobChat.ID {
			t.Errorf("a new chat after closing: %+v", again)
		}

		// Convert once; the link reads both ways.
		tk := &desk.Ticket{Title: "Chat", Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
			Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateTicketFromChat(ctx, tk, chat.ID, t0.Add(2*time.Hour)); err != nil || tk.ChatID != chat.ID {
			t.Fatalf("convert: %v", err)
		}
		chat, _ = db.ChatByID(ctx, chat.ID)
		if chat.TicketID != tk.ID || chat.Status != desk.ChatClosed {
			t.Fatalf("converted chat: %+v", chat)
		}
		if got, _ := db.TicketByID(ctx, tk.ID); got.ChatID != chat.ID {
			t.Fatalf("ticket's chat: %d", got.ChatID)
		}
		if page, _ := db.Tickets(ctx, store.TicketFilter{}); page.Tickets[0].ChatID != chat.ID {
			t.Fatalf("list's chat id: %d", page.Tickets[0].ChatID)
		}
		tk2 := &desk.Ticket{Title: "Again", Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
			Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateTicketFromChat(ctx, tk2, chat.ID, t0); !desk.IsKind(err, desk.KindConflict) {
			t.Fatalf("second convert: %v", err)
		}
		if page, _ := db.Tickets(ctx, store.TicketFilter{}); page.Total != 1 {
			t.Fatalf("failed convert left a ticket: %d", page.Total)
		}
		if err := db.CreateTicketFromChat(ctx, tk2, 9999, t0); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("convert missing chat: %v", err)
		}
	})
}

func TestCreateTicketOnce(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		jane := mkUser(t, db, "jane", desk.RoleUser)
		mk := func() *desk.Ticket {
			return &desk.Ticket{Title: "Tawk chat", Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
				Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: t0, UpdatedAt: t0}
		}
		var wg sync.WaitGroup
		results := make([]int64, 6)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tk := mk()
				existing, err := db.CreateTicketOnce(ctx, tk, []string{"tawk:event:e1", "tawk:chat:c1"}, t0)
				if err != nil {
					t.Errorf("CreateTicketOnce: %v", err)
				}
				results[i] = max(existing, tk.ID)
			}()
		}
		wg.Wait()
		for _, id := range results {
			if id == 0 || id != results[0] {
				t.Fatalf("deliveries made different tickets: %v", results)
			}
		}
		// Another event about the same chat finds the ticket too.
		existing, err := db.CreateTicketOnce(ctx, mk(), []string{"tawk:event:e2", "tawk:chat:c1"}, t0)
		if err != nil || existing != results[0] {
			t.Fatalf("same chat, new event: %d %v", existing, err)
		}
		if id, err := db.TicketByRef(ctx, "tawk:event:e2"); err != nil || id != results[0] {
			t.Fatalf("TicketByRef: %d %v", id, err)
		}
		tk := mk()
		if existing, err := db.CreateTicketOnce(ctx, tk, []string{"tawk:event:e3", "tawk:chat:c2"}, t0); err != nil || existing != 0 || tk.ID == results[0] {
			t.Fatalf("new chat: %d %v", existing, err)
		}
		if page, _ := db.Tickets(ctx, store.TicketFilter{}); page.Total != 2 {
			t.Fatalf("%d tickets, want 2", page.Total)
		}
		if _, err := db.TicketByRef(ctx, "nope"); !desk.IsKind(err, desk.KindNotFound) {
			t.Fatalf("unknown ref: %v", err)
		}
	})
}
