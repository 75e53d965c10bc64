package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
	"ticketflow/internal/store/storetest"
)

// TestTicketLinks checks the chat and attachment flags kept on the ticket
// row (migration 00006): filled in for tickets that existed before it, and
// kept up by its triggers afterwards. A comment's files are not the
// ticket's own.
func TestTicketLinks(t *testing.T) {
	t.Parallel()
	configs := map[string]func(t *testing.T) store.Config{
		"sqlite": func(t *testing.T) store.Config {
			return store.Config{SQLitePath: filepath.Join(t.TempDir(), "ticketflow.db")}
		},
		"postgres": func(t *testing.T) store.Config { return store.Config{DatabaseURL: storetest.PostgresSchemaURL(t)} },
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := store.Open(ctx, cfg(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrateTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			jane := mkUser(t, db, "jane", desk.RoleUser)
			n := 0
			file := func(commentID int64) desk.Attachment {
				n++
				return desk.Attachment{CommentID: commentID, Key: fmt.Sprint("k", n), Filename: "a.png", ContentType: "image/png",
					Size: 1, SHA256: "x", UploadedBy: jane.ID, CreatedAt: t0}
			}
			// withFile has a file of its own, withCommentFile only a
			// comment's, fromChat was a chat, plain is none of these.
			tickets := func(suffix string) (withFile, withCommentFile, fromChat, plain *desk.Ticket, chatID int64) {
				at := t0.Add(time.Duration(n) * time.Minute)
				withFile = &desk.Ticket{Title: "file " + suffix, Description: "d", Category: desk.CategoryTechnical, Status: desk.StatusNew,
					Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: at, UpdatedAt: at, Attachments: []desk.Attachment{file(0)}}
				if err := db.CreateTicket(ctx, withFile); err != nil {
					t.Fatal(err)
				}
				withCommentFile = mkTicket(t, db, jane, "comment file "+suffix, "d", desk.CategoryFinancial, at)
				c := &desk.Comment{TicketID: withCommentFile.ID, Author: jane.Ref(), Body: "see file", CreatedAt: at}
				c.Attachments = []desk.Attachment{file(0)}
				c.Attachments[0].TicketID = withCommentFile.ID
				if err := db.CreateComment(ctx, c); err != nil {
					t.Fatal(err)
				}
				chat, _, err := db.OpenChat(ctx, jane.ID, at)
				if err != nil {
					t.Fatal(err)
				}
				fromChat = &desk.Ticket{Title: "chat " + suffix, Description: "d", Category: desk.CategoryProduct, Status: desk.StatusNew,
					Priority: desk.PriorityMedium, CreatedBy: jane.Ref(), CreatedAt: at, UpdatedAt: at}
				if err := db.CreateTicketFromChat(ctx, fromChat, chat.ID, at); err != nil {
					t.Fatal(err)
				}
				plain = mkTicket(t, db, jane, "plain "+suffix, "d", desk.CategoryTechnical, at)
				return withFile, withCommentFile, fromChat, plain, chat.ID
			}
			// check reads each ticket by id and in the list: want maps a
			// ticket to its chat id and number of files of its own.
			check := func(when string, want map[int64][2]int64) {
				t.Helper()
				page, err := db.Tickets(ctx, store.TicketFilter{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				listed := map[int64]desk.Ticket{}
				for _, tk := range page.Tickets {
					listed[tk.ID] = tk
				}
				for id, w := range want {
					got, err := db.TicketByID(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if chat, has, err := db.TicketLinks(ctx, id); err != nil || chat != w[0] || has != (w[1] > 0) {
						t.Errorf("%s, row of ticket %d (%s): chat_id %d, has_attachments %v, %v; want %d, %v",
							when, id, got.Title, chat, has, err, w[0], w[1] > 0)
					}
					for how, tk := range map[string]desk.Ticket{"detail": *got, "list": listed[id]} {
						if tk.ChatID != w[0] || int64(len(tk.Attachments)) != w[1] {
							t.Errorf("%s, %s of ticket %d (%s): chat %d, %d files; want chat %d, %d files",
								when, how, id, got.Title, tk.ChatID, len(tk.Attachments), w[0], w[1])
						}
					}
				}
			}

			f1, c1, ch1, p1, chat1 := tickets("before")
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			want := map[int64][2]int64{f1.ID: {0, 1}, c1.ID: {0, 0}, ch1.ID: {chat1, 0}, p1.ID: {0, 0}}
			check("after the migration", want)

			f2, c2, ch2, p2, chat2 := tickets("after")
			want[f2.ID], want[c2.ID], want[ch2.ID], want[p2.ID] = [2]int64{0, 1}, [2]int64{0, 0}, [2]int64{chat2, 0}, [2]int64{0, 0}
			check("created after the migration", want)

			// A second file, then removing the files one by one: the flag
			// clears only with the last one. A chat unlinked lets go of
			// its ticket.
			more := file(0)
			if err := db.ExecRaw(ctx, `INSERT INTO attachments (ticket_id, blob_key, filename, content_type, size, sha256, uploaded_by, created_at)
				VALUES (?, ?, 'b.png', 'image/png', 1, 'x', ?, 0)`, f2.ID, more.Key, jane.ID); err != nil {
				t.Fatal(err)
			}
			want[f2.ID] = [2]int64{0, 2}
			check("a second file", want)
			for left := int64(1); left >= 0; left-- {
				if err := db.ExecRaw(ctx, `DELETE FROM attachments WHERE id = (SELECT min(id) FROM attachments WHERE ticket_id = ? AND comment_id IS NULL)`, f2.ID); err != nil {
					t.Fatal(err)
				}
				want[f2.ID] = [2]int64{0, left}
				check(fmt.Sprintf("files removed, %d left", left), want)
			}
			if err := db.ExecRaw(ctx, `UPDATE chats SET ticket_id = ? WHERE id = ?`, p2.ID, chat2); err != nil {
				t.Fatal(err)
			}
			want[ch2.ID], want[p2.ID] = [2]int64{0, 0}, [2]int64{chat2, 0}
			check("a chat moved to another ticket", want)

			// A file moved onto a comment of its ticket and back.
			again := file(0)
			if err := db.ExecRaw(ctx, `INSERT INTO attachments (ticket_id, blob_key, filename, content_type, size, sha256, uploaded_by, created_at)
				VALUES (?, ?, 'c.png', 'image/png', 1, 'x', ?, 0)`, f2.ID, again.Key, jane.ID); err != nil {
				t.Fatal(err)
			}
			note := &desk.Comment{TicketID: f2.ID, Author: jane.Ref(), Body: "moved here", CreatedAt: t0}
			if err := db.CreateComment(ctx, note); err != nil {
				t.Fatal(err)
			}
			want[f2.ID] = [2]int64{0, 1}
			check("a file again", want)
			if err := db.ExecRaw(ctx, `UPDATE attachments SET comment_id = ? WHERE blob_key = ?`, note.ID, again.Key); err != nil {
				t.Fatal(err)
			}
			want[f2.ID] = [2]int64{0, 0}
			check("the file moved onto a comment", want)
			if err := db.ExecRaw(ctx, `UPDATE attachments SET comment_id = NULL WHERE blob_key = ?`, again.Key); err != nil {
				t.Fatal(err)
			}
			want[f2.ID] = [2]int64{0, 1}
			check("the file moved back to the ticket", want)
			// Comments going, with their files: the ticket's own flag
			// follows only its own files.
			if err := db.ExecRaw(ctx, `DELETE FROM comments WHERE ticket_id IN (?, ?)`, c2.ID, f2.ID); err != nil {
				t.Fatal(err)
			}
			check("comments deleted", want)
			// A chat deleted lets go of its ticket.
			if err := db.ExecRaw(ctx, `DELETE FROM chats WHERE id = ?`, chat2); err != nil {
				t.Fatal(err)
			}
			want[p2.ID] = [2]int64{0, 0}
			check("a chat deleted", want)
		})
	}
}
