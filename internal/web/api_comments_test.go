package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web/webtest"
)

func TestConversationAPI(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := webtest.New(t, eng.Open(t), webtest.Options{})
			owner := e.CreateUser(t, "jane", desk.RoleUser)
			other := e.CreateUser(t, "bob", desk.RoleUser)
			admin := e.CreateUser(t, "root", desk.RoleAdmin)
			id := int64(e.Do(t, "POST", "/api/tickets", map[string]any{"title": "VPN", "description": "down", "category": "Technical"}, owner.Access).JSON["id"].(float64))
			e.Clock.Advance(time.Minute)
			path := "/api/tickets/" + strconv.FormatInt(id, 10) + "/comments"
			tests := []struct {
				name   string
				as     string
				body   any
				status int
			}{
				{"owner replies", owner.Access, map[string]any{"body": "any news?"}, 201},
				{"owner cannot write notes", owner.Access, map[string]any{"body": "x", "internal": true}, 403},
				{"admin replies", admin.Access, map[string]any{"body": "looking"}, 201},
				{"admin notes", admin.Access, map[string]any{"body": "old client", "internal": true}, 201},
				{"other user", other.Access, map[string]any{"body": "hi"}, 404},
				{"anonymous", "", map[string]any{"body": "hi"}, 401},
				{"blank", owner.Access, map[string]any{"body": " "}, 400},
				{"wrong type", owner.Access, map[string]any{"body": "x", "internal": "yes"}, 400},
				{"too long", owner.Access, map[string]any{"body": strings.Repeat("x", desk.MaxCommentLen+1)}, 400},
			}
			for _, tt := range tests {
				if r := e.Do(t, "POST", path, tt.body, tt.as); r.Status != tt.status {
					t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
				}
			}
			if r := e.Do(t, "POST", "/api/tickets/9999/comments", map[string]any{"body": "x"}, admin.Access); r.Status != 404 {
				t.Errorf("missing ticket: %d", r.Status)
			}
			// Replies with files (multipart), and a note with a file.
			m := webtest.NewMultipart().Field("body", "log attached").File("attachment", "log.txt", textFile).File("attachment", "shot.png", pngFile).Close()
			r := e.Do(t, "POST", path, m, owner.Access)
			if r.Status != 201 || len(r.JSON["attachments"].([]any)) != 2 || r.JSON["author"].(map[string]any)["username"] != "jane" {
				t.Fatalf("multipart reply: %d %s", r.Status, r.Body)
			}
			m = webtest.NewMultipart().Field("body", "our screenshot").Field("internal", "true").File("attachment", "n.png", pngFile).Close()
			r = e.Do(t, "POST", path, m, admin.Access)
			if r.Status != 201 || r.JSON["internal"] != true {
				t.Fatalf("multipart note: %d %s", r.Status, r.Body)
			}
			noteFile := r.JSON["attachments"].([]any)[0].(map[string]any)
			blobs := e.BlobCount(t)
			m = webtest.NewMultipart().Field("body", "sneaky").Field("internal", "true").File("attachment", "x.txt", textFile).Close()
			if r := e.Do(t, "POST", path, m, owner.Access); r.Status != 403 || e.BlobCount(t) != blobs {
				t.Fatalf("owner's multipart note: %d, blobs %d→%d", r.Status, blobs, e.BlobCount(t))
			}
			if r := e.Do(t, "POST", path, webtest.NewMultipart().Field("body", "x").File("attachment", "a.svg", svgFile).Close(), owner.Access); r.Status != 415 || e.BlobCount(t) != blobs {
				t.Fatalf("svg reply: %d", r.Status)
			}

			// Lists: the owner never sees notes or their files.
			ownerList := e.Do(t, "GET", path, nil, owner.Access)
			adminList := e.Do(t, "GET", path+"/", nil, admin.Access)
			if ownerList.JSON["count"] != 3.0 || adminList.JSON["count"] != 5.0 {
				t.Fatalf("counts: owner %v admin %v", ownerList.JSON["count"], adminList.JSON["count"])
			}
			if strings.Contains(string(ownerList.Body), "old client") || strings.Contains(string(ownerList.Body), "n.png") {
				t.Fatal("owner's list shows a note")
			}
			if r := e.Do(t, "GET", path, nil, other.Access); r.Status != 404 {
				t.Fatalf("other user's list: %d", r.Status)
			}
			results := adminList.JSON["results"].([]any)
			firstID := int64(results[0].(map[string]any)["id"].(float64))
			if r := e.Do(t, "GET", path+"?after="+strconv.FormatInt(firstID, 10), nil, admin.Access); r.JSON["count"] != 4.0 {
				t.Fatalf("after: %v", r.JSON["count"])
			}
			if r := e.Do(t, "GET", path+"?after=x", nil, admin.Access); r.Status != 400 {
				t.Fatalf("bad after: %d", r.Status)
			}
			// The note's file: admins only, even with the signed link.
			noteURL := strings.TrimPrefix(noteFile["url"].(string), e.URL)
			attPath := noteURL[:strings.Index(noteURL, "?")]
			if r := e.Do(t, "GET", attPath, nil, owner.Access); r.Status != 404 {
				t.Fatalf("owner fetched a note's file: %d", r.Status)
			}
			if r := e.Do(t, "GET", attPath, nil, admin.Access); r.Status != 200 {
				t.Fatalf("admin fetch: %d", r.Status)
			}
			ownerFile := ownerList.JSON["results"].([]any)[2].(map[string]any)["attachments"].([]any)[0].(map[string]any)
			if r := e.Do(t, "GET", strings.TrimPrefix(ownerFile["url"].(string), e.URL), nil, ""); r.Status != 200 || string(r.Body) != string(textFile) {
				t.Fatalf("signed reply file: %d", r.Status)
			}
			// A public reply moves the ticket's updated_at; a note does not.
			tk := e.Do(t, "GET", "/api/tickets/"+strconv.FormatInt(id, 10), nil, owner.Access)
			if tk.JSON["updated_at"] == tk.JSON["created_at"] {
				t.Error("reply did not touch the ticket")
			}
		})
	}
}
