package desk

import "testing"

func TestShouldNotifyMatrix(t *testing.T) {
	t.Parallel()
	owner := &User{ID: 1, Email: "o@x.io", Role: RoleUser, Active: true}
	recipients := map[string]*User{
		"owner":          owner,
		"admin":          {ID: 3, Email: "a@x.io", Role: RoleAdmin, Active: true},
		"inactive owner": {ID: 1, Email: "o@x.io", Role: RoleUser, Active: false},
		"inactive admin": {ID: 3, Email: "a@x.io", Role: RoleAdmin, Active: false},
		"no address":     {ID: 1, Role: RoleUser, Active: true},
		"nobody":         nil,
	}
	actors := map[string]*User{
		"the recipient": nil, // filled per recipient below
		"someone else":  {ID: 9, Role: RoleAdmin, Active: true},
		"anonymous":     nil,
	}
	// want[recipient][notice] when someone else (or nobody) acts and the
	// recipient has not opted out. Acting on oneself and opting out never
	// notify.
	want := map[string]map[Notice]bool{
		"owner":          {NoticeStatus: true, NoticeReply: true},
		"admin":          {NoticeStatus: true, NoticeReply: true, NoticeNewTicket: true, NoticeChat: true},
		"inactive owner": {},
		"inactive admin": {},
		"no address":     {},
		"nobody":         {},
	}
	for rname, r := range recipients {
		for aname, a := range actors {
			if aname == "the recipient" {
				a = r
			}
			for _, n := range append(Notices, Notice("bogus")) {
				for _, off := range []bool{false, true} {
					exp := want[rname][n] && !off && aname != "the recipient"
					if got := ShouldNotify(n, a, r, off); got != exp {
						t.Errorf("%s, acted on by %s, %s, off=%v: %v, want %v", rname, aname, n, off, got, exp)
					}
				}
			}
		}
	}
}

func TestCommentNotice(t *testing.T) {
	t.Parallel()
	if n, ok := CommentNotice(&Comment{Body: "x"}); !ok || n != NoticeReply {
		t.Errorf("public reply: %v %v", n, ok)
	}
	if _, ok := CommentNotice(&Comment{Body: "x", Internal: true}); ok {
		t.Error("an internal note must never notify")
	}
	if _, ok := CommentNotice(nil); ok {
		t.Error("nil comment")
	}
}

func TestNotices(t *testing.T) {
	t.Parallel()
	for _, n := range Notices {
		if p, ok := ParseNotice(string(n)); !ok || p != n || n.Describe() == string(n) {
			t.Errorf("notice %q", n)
		}
	}
	if _, ok := ParseNotice("x"); ok {
		t.Error("unknown notice parsed")
	}
	if got := NoticesFor(&User{Role: RoleUser, Active: true}); len(got) != 2 || got[0].ForAdmins() || got[1].ForAdmins() {
		t.Errorf("user notices %v", got)
	}
	if got := NoticesFor(&User{Role: RoleAdmin, Active: true}); len(got) != 4 {
		t.Errorf("admin notices %v", got)
	}
	for _, s := range []MailStatus{MailPending, MailSent, MailFailed} {
		if p, ok := ParseMailStatus(string(s)); !ok || p != s {
			t.Errorf("status %q", s)
		}
	}
	if _, ok := ParseMailStatus("sending"); ok {
		t.Error("unknown status parsed")
	}
}
