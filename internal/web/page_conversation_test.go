package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

func TestPageConversation(t *testing.T) {
	t.Parallel()
	f := newPageFixture(t, webtest.Options{})
	ctx := context.Background()
	tk := fmt.Sprintf("/tickets/%d", f.ticket.ID)
	comments := func() []desk.Comment {
		t.Helper()
		cs, err := f.e.Svc.Comments(ctx, f.root.User, f.ticket.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	jane, root := newBrowserless(t, f.e), newBrowserless(t, f.e)
	jcsrf, rcsrf := jane.signIn("jane", f.jane.Password), root.signIn("root", f.root.Password)

	// The owner gets the reply form without the note checkbox; admins get both.
	page := jane.get(tk).Body
	if !strings.Contains(page, `action="`+tk+`/comments"`) || strings.Contains(page, `name="internal"`) || !strings.Contains(page, "No replies yet.") {
		t.Fatalf("owner's ticket page:\n%s", page)
	}
	if page := root.get(tk).Body; !strings.Contains(page, `id="reply-internal" name="internal" value="true"`) {
		t.Fatal("no internal-note checkbox for the admin")
	}

	// An internal note (with a file), then a public reply with a file.
	r := root.postMultipart(tk+"/comments", "csrf_token", rcsrf, "body", "Secret <b>note</b>", "internal", "true", "@attachment", "secret-plan.txt:do not tell")
	if r.Status != http.StatusSeeOther || !regexp.MustCompile(`^`+tk+`\?msg=noted#comment-\d+$`).MatchString(r.location()) {
		t.Fatalf("note: %d %q\n%s", r.Status, r.location(), r.Body)
	}
	r = root.postMultipart(tk+"/comments", "csrf_token", rcsrf, "body", "Public answer", "@attachment", "steps.txt:turn it off and on")
	if r.Status != http.StatusSeeOther || !regexp.MustCompile(`^`+tk+`\?msg=replied#comment-\d+$`).MatchString(r.location()) {
		t.Fatalf("reply: %d %q", r.Status, r.location())
	}
	cs := comments()
	if len(cs) != 2 || !cs[0].Internal || cs[1].Internal || len(cs[0].Attachments) != 1 || len(cs[1].Attachments) != 1 {
		t.Fatalf("comments %+v", cs)
	}
	noteFile, replyFile := cs[0].Attachments[0].ID, cs[1].Attachments[0].ID

	// The admin sees the note, labelled and escaped.
	page = root.get(r.location()).Body
	for _, want := range []string{"Your reply was posted.", "Internal note — not visible to the requester", "Secret &lt;b&gt;note&lt;/b&gt;",
		"secret-plan.txt", "Public answer", fmt.Sprintf(`href="/api/attachments/%d/download"`, replyFile)} {
		if !strings.Contains(page, want) {
			t.Errorf("admin's page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`class="comment comment-internal" id="comment-\d+"`).MatchString(page) {
		t.Error("the note is not marked as internal")
	}
	// The owner never sees it, nor its file.
	page = jane.get(tk).Body
	for _, leak := range []string{"Secret", "secret-plan", "Internal note", "comment-internal", fmt.Sprintf("/api/attachments/%d", noteFile)} {
		if strings.Contains(page, leak) {
			t.Errorf("the owner's page contains %q", leak)
		}
	}
	if !strings.Contains(page, "Public answer") || !strings.Contains(page, fmt.Sprintf(`href="/api/attachments/%d/download"`, replyFile)) ||
		!strings.Contains(page, `<span class="role-tag">Support</span>`) {
		t.Errorf("the owner's page lacks the reply:\n%s", page)
	}
	if r := jane.get(fmt.Sprintf("/api/attachments/%d", noteFile)); r.Status != http.StatusNotFound {
		t.Errorf("the note's file for the owner: %d", r.Status)
	}

	// The owner replies; a note from them is refused and stores nothing.
	if r := jane.postMultipart(tk+"/comments", "csrf_token", jcsrf, "body", "Thanks, that worked."); r.Status != http.StatusSeeOther {
		t.Fatalf("owner's reply: %d", r.Status)
	}
	blobs := f.e.BlobCount(t)
	if r := jane.postMultipart(tk+"/comments", "csrf_token", jcsrf, "body", "sneaky", "internal", "true", "@attachment", "x.txt:x"); r.Status != http.StatusForbidden {
		t.Errorf("owner's note: %d", r.Status)
	}
	// A blank reply comes back with the error next to the field.
	r = jane.postMultipart(tk+"/comments", "csrf_token", jcsrf, "body", "   ", "@attachment", "y.txt:y")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="reply-body-error"`) || !strings.Contains(r.Body, "Please choose your files again.") {
		t.Errorf("blank reply: %d\n%s", r.Status, r.Body)
	}
	if n := len(comments()); n != 3 || f.e.BlobCount(t) != blobs {
		t.Errorf("%d comments, %d blobs (want 3, %d)", n, f.e.BlobCount(t), blobs)
	}

	// Forged or missing tokens, a late token, another user, a stranger's
	// ticket: refused before anything is stored.
	bob := newBrowserless(t, f.e)
	bcsrf := bob.signIn("bob", f.bob.Password)
	for _, tc := range []struct {
		name   string
		b      *browserless
		path   string
		fields []string
		want   int
	}{
		{"no token", root, tk + "/comments", []string{"body", "forged", "@attachment", "a.txt:a"}, http.StatusForbidden},
		{"wrong token", root, tk + "/comments", []string{"csrf_token", "forged", "body", "forged"}, http.StatusForbidden},
		{"another session's token", root, tk + "/comments", []string{"csrf_token", jcsrf, "body", "forged"}, http.StatusForbidden},
		{"token after the fields", root, tk + "/comments", []string{"body", "forged", "csrf_token", rcsrf}, http.StatusForbidden},
		{"not the owner", bob, tk + "/comments", []string{"csrf_token", bcsrf, "body", "hi", "@attachment", "b.txt:b"}, http.StatusNotFound},
		{"no such ticket", root, "/tickets/999999/comments", []string{"csrf_token", rcsrf, "body", "hi"}, http.StatusNotFound},
	} {
		r := tc.b.postMultipart(tc.path, tc.fields...)
		if r.Status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.want)
		}
		if tc.want == http.StatusNotFound && strings.Contains(r.Body, "Printer jam") {
			t.Errorf("%s: the 404 page shows the ticket", tc.name)
		}
	}
	if r := root.postMultipart(tk+"/comments", "body", "x"); !strings.Contains(r.Body, "expired") {
		t.Error("the CSRF refusal does not say why")
	}
	if n := len(comments()); n != 3 || f.e.BlobCount(t) != blobs {
		t.Errorf("after refused posts: %d comments, %d blobs", n, f.e.BlobCount(t))
	}
	if r := bob.get(tk); r.Status != http.StatusNotFound || strings.Contains(r.Body, "Public answer") {
		t.Errorf("another user's ticket page: %d", r.Status)
	}
}
