package desk

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestChatPermissionMatrix(t *testing.T) {
	t.Parallel()
	open := &Chat{ID: 5, User: UserRef{ID: 1}, Status: ChatOpen}
	closed := &Chat{ID: 6, User: UserRef{ID: 1}, Status: ChatClosed}
	converted := &Chat{ID: 7, User: UserRef{ID: 1}, Status: ChatClosed, TicketID: 10}
	type action struct {
		name string
		do   func(u *User) bool
	}
	actions := []action{
		{"start", CanStartChat},
		{"list all", CanListAllChats},
		{"view open", func(u *User) bool { return CanViewChat(u, open) }},
		{"view closed", func(u *User) bool { return CanViewChat(u, closed) }},
		{"view converted", func(u *User) bool { return CanViewChat(u, converted) }},
		{"post open", func(u *User) bool { return CanPostChat(u, open) }},
		{"post closed", func(u *User) bool { return CanPostChat(u, closed) }},
		{"close open", func(u *User) bool { return CanCloseChat(u, open) }},
		{"close closed", func(u *User) bool { return CanCloseChat(u, closed) }},
		{"convert open", func(u *User) bool { return CanConvertChat(u, open) }},
		{"convert closed", func(u *User) bool { return CanConvertChat(u, closed) }},
		{"convert converted", func(u *User) bool { return CanConvertChat(u, converted) }},
	}
	// Every cell is spelled out: "owner" is the chat's user.
	ownerCan := map[string]bool{"start": true, "view open": true, "view closed": true, "view converted": true, "post open": true, "close open": true}
	adminCan := map[string]bool{"start": true, "list all": true, "view open": true, "view closed": true, "view converted": true,
		"post open": true, "close open": true, "convert open": true, "convert closed": true}
	want := map[string]map[string]bool{
		"anonymous":      {},
		"owner":          ownerCan,
		"other user":     {"start": true},
		"admin":          adminCan,
		"owner admin":    adminCan,
		"inactive owner": {},
		"inactive admin": {},
	}
	for name, u := range actors() {
		for _, a := range actions {
			if got := a.do(u); got != want[name][a.name] {
				t.Errorf("%s / %s = %v, want %v", name, a.name, got, want[name][a.name])
			}
		}
	}
	if CanViewChat(actors()["admin"], nil) || CanConvertChat(actors()["admin"], nil) {
		t.Error("nil chat allowed")
	}
}

func TestAttachmentPermissionMatrix(t *testing.T) {
	t.Parallel()
	ticket := &Ticket{ID: 10, CreatedBy: UserRef{ID: 1}}
	reply := &Comment{ID: 1, TicketID: 10}
	note := &Comment{ID: 2, TicketID: 10, Internal: true}
	foreign := &Comment{ID: 3, TicketID: 11}
	cases := map[string]*Comment{"ticket file": nil, "reply file": reply, "note file": note, "other ticket's comment": foreign}
	want := map[string]map[string]bool{
		"anonymous":      {},
		"owner":          {"ticket file": true, "reply file": true},
		"other user":     {},
		"admin":          {"ticket file": true, "reply file": true, "note file": true},
		"owner admin":    {"ticket file": true, "reply file": true, "note file": true},
		"inactive owner": {},
		"inactive admin": {},
	}
	for name, u := range actors() {
		for cname, c := range cases {
			if got := CanViewAttachment(u, ticket, c); got != want[name][cname] {
				t.Errorf("%s / %s = %v", name, cname, got)
			}
		}
	}
}

// TestEventAudienceMatrix checks every actor against every kind of event
// addressed to the owner of ticket/chat 1.
func TestEventAudienceMatrix(t *testing.T) {
	t.Parallel()
	events := map[string]*Event{
		"ticket created":  {Kind: EventTicketCreated, Audience: AudienceOwner, OwnerID: 1, TicketID: 10},
		"status changed":  {Kind: EventTicketUpdated, Audience: AudienceOwner, OwnerID: 1, TicketID: 10},
		"public reply":    {Kind: EventCommentAdded, Audience: AudienceOwner, OwnerID: 1, TicketID: 10, Comment: &Comment{TicketID: 10}},
		"internal note":   {Kind: EventCommentAdded, Audience: AudienceAdmins, OwnerID: 1, TicketID: 10, Comment: &Comment{TicketID: 10, Internal: true}},
		"mislabeled note": {Kind: EventCommentAdded, Audience: AudienceOwner, OwnerID: 1, TicketID: 10, Comment: &Comment{TicketID: 10, Internal: true}},
		"chat message":    {Kind: EventChatMessage, Audience: AudienceOwner, OwnerID: 1, ChatID: 5},
		"chat started":    {Kind: EventChatStarted, Audience: AudienceOwner, OwnerID: 1, ChatID: 5},
		"user typing":     {Kind: EventChatTyping, Audience: AudienceAdmins, OwnerID: 1, ChatID: 5},
		"agent typing":    {Kind: EventChatTyping, Audience: AudienceOwner, OwnerID: 1, ChatID: 5},
		"presence":        {Kind: EventPresence, Audience: AudienceEveryone},
		"access control":  {Kind: EventUserAccess, Audience: AudienceNobody, OwnerID: 1},
		"ownerless":       {Kind: EventTicketCreated, Audience: AudienceOwner},
		"unknown":         {Kind: "x", Audience: Audience(99), OwnerID: 1},
	}
	ownerGets := map[string]bool{"ticket created": true, "status changed": true, "public reply": true, "chat message": true,
		"chat started": true, "agent typing": true, "presence": true}
	adminGets := map[string]bool{"ticket created": true, "status changed": true, "public reply": true, "internal note": true,
		"mislabeled note": true, "chat message": true, "chat started": true, "user typing": true, "agent typing": true,
		"presence": true, "ownerless": true}
	want := map[string]map[string]bool{
		"anonymous":      {},
		"owner":          ownerGets,
		"other user":     {"presence": true},
		"admin":          adminGets,
		"owner admin":    adminGets,
		"inactive owner": {},
		"inactive admin": {},
	}
	for name, u := range actors() {
		for ename, e := range events {
			if got := CanReceive(u, e); got != want[name][ename] {
				t.Errorf("%s / %s = %v", name, ename, got)
			}
		}
	}
	if CanReceive(actors()["admin"], nil) {
		t.Error("nil event received")
	}
}

func TestChatText(t *testing.T) {
	t.Parallel()
	if _, err := ValidateChatMessage("   "); !IsKind(err, KindInvalid) {
		t.Errorf("blank message: %v", err)
	}
	if _, err := ValidateChatMessage(strings.Repeat("x", MaxChatMessageLen+1)); !IsKind(err, KindInvalid) {
		t.Errorf("long message: %v", err)
	}
	if s, err := ValidateChatMessage("  hi \n"); err != nil || s != "hi" {
		t.Errorf("trim: %q %v", s, err)
	}
	if _, err := ValidateComment("a\x00b"); !IsKind(err, KindInvalid) {
		t.Errorf("NUL comment: %v", err)
	}
	for in, want := range map[string]string{
		"":                       "Live chat",
		"  My VPN\nis down  ":    "Chat: My VPN",
		"a   b\tc":               "Chat: a b c",
		strings.Repeat("é", 300): "",
	} {
		got := ChatTitle(in)
		if utf8.RuneCountInString(got) > MaxTitleLen || (want != "" && got != want) {
			t.Errorf("ChatTitle(%q) = %q", in, got)
		}
	}
	if _, ok := ParseChatStatus("open"); !ok {
		t.Error("open")
	}
	if _, ok := ParseChatStatus("Open"); ok {
		t.Error("Open accepted")
	}
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	tr := ChatTranscript(&Chat{ID: 3, User: UserRef{Username: "jane", Email: "jane@example.com"}, CreatedAt: at},
		[]ChatMessage{{Author: UserRef{Username: "jane"}, Body: "help", CreatedAt: at}, {Author: UserRef{Username: "root"}, FromAgent: true, Body: "on it", CreatedAt: at}})
	for _, s := range []string{"Live chat #3 with jane <jane@example.com>", "[2026-03-01 09:30:00] jane:\nhelp", "root (support):\non it"} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}
}
