package desk

import (
	"fmt"
	"testing"
)

// actors enumerates every kind of actor relative to a ticket owned by user 1.
func actors() map[string]*User {
	return map[string]*User{
		"anonymous":      nil,
		"owner":          {ID: 1, Role: RoleUser, Active: true},
		"other user":     {ID: 2, Role: RoleUser, Active: true},
		"admin":          {ID: 3, Role: RoleAdmin, Active: true},
		"owner admin":    {ID: 1, Role: RoleAdmin, Active: true},
		"inactive owner": {ID: 1, Role: RoleUser, Active: false},
		"inactive admin": {ID: 3, Role: RoleAdmin, Active: false},
	}
}

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	ticket := &Ticket{ID: 10, CreatedBy: UserRef{ID: 1}}
	public := &Comment{TicketID: 10}
	internal := &Comment{TicketID: 10, Internal: true}

	type action struct {
		name string
		do   func(u *User) bool
	}
	actions := []action{
		{"view ticket", func(u *User) bool { return CanViewTicket(u, ticket) }},
		{"create ticket", CanCreateTicket},
		{"change status", func(u *User) bool { return CanChangeStatus(u, ticket) }},
		{"list all", CanListAllTickets},
		{"reply", func(u *User) bool { return CanComment(u, ticket, false) }},
		{"internal note", func(u *User) bool { return CanComment(u, ticket, true) }},
		{"view reply", func(u *User) bool { return CanViewComment(u, ticket, public) }},
		{"view note", func(u *User) bool { return CanViewComment(u, ticket, internal) }},
		{"manage users", CanManageUsers},
	}
	// want[actor][action]; every cell is spelled out so that a change to a
	// rule must change this table.
	want := map[string]map[string]bool{
		"anonymous":      {},
		"owner":          {"view ticket": true, "create ticket": true, "reply": true, "view reply": true},
		"other user":     {"create ticket": true},
		"admin":          {"view ticket": true, "create ticket": true, "change status": true, "list all": true, "reply": true, "internal note": true, "view reply": true, "view note": true, "manage users": true},
		"owner admin":    {"view ticket": true, "create ticket": true, "change status": true, "list all": true, "reply": true, "internal note": true, "view reply": true, "view note": true, "manage users": true},
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
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]Status]bool{
		{StatusNew, StatusUnderReview}:      true,
		{StatusNew, StatusResolved}:         true,
		{StatusUnderReview, StatusNew}:      true,
		{StatusUnderReview, StatusResolved}: true,
		{StatusResolved, StatusUnderReview}: true,
	}
	all := append([]Status{"", "Closed", "new"}, Statuses...)
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanTransition(%q, %q) = %v", from, to, got)
			}
		}
	}
}

func TestParseEnums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in              string
		cat, stat, prio bool
	}{
		{"Technical", true, false, false},
		{"Financial", true, false, false},
		{"Product", true, false, false},
		{"technical", false, false, false},
		{"New", false, true, false},
		{"Under Review", false, true, false},
		{"Under_Review", false, false, false},
		{"under review", false, false, false},
		{"Resolved", false, true, false},
		{"Low", false, false, true},
		{"medium", false, false, true},
		{" HIGH ", false, false, true},
		{"Urgent", false, false, true},
		{"", false, false, false},
		{"'; DROP TABLE tickets;--", false, false, false},
	}
	for _, tt := range tests {
		if _, ok := ParseCategory(tt.in); ok != tt.cat {
			t.Errorf("ParseCategory(%q) ok=%v", tt.in, ok)
		}
		if _, ok := ParseStatus(tt.in); ok != tt.stat {
			t.Errorf("ParseStatus(%q) ok=%v", tt.in, ok)
		}
		if _, ok := ParsePriority(tt.in); ok != tt.prio {
			t.Errorf("ParsePriority(%q) ok=%v", tt.in, ok)
		}
	}
	for i, p := range Priorities {
		if p.Rank() != i+1 {
			t.Errorf("%s.Rank() = %d", p, p.Rank())
		}
	}
	if Priority("x").Rank() != 0 {
		t.Error("unknown priority has a rank")
	}
	for _, s := range []string{"admin", "user"} {
		if _, ok := ParseRole(s); !ok {
			t.Errorf("ParseRole(%q) failed", s)
		}
	}
	for _, s := range []string{"", "Admin", "superuser", "staff"} {
		if _, ok := ParseRole(s); ok {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
}

func TestNewTicketValidate(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return fmt.Sprintf("%0*d", n, 0) }
	tests := []struct {
		name       string
		in         NewTicket
		wantFields []string
		wantPrio   Priority
	}{
		{"ok default priority", NewTicket{Title: " VPN down ", Description: "d", Category: "Technical"}, nil, PriorityMedium},
		{"ok explicit priority", NewTicket{Title: "t", Description: "d", Category: "Product", Priority: "urgent"}, nil, PriorityUrgent},
		{"missing all", NewTicket{}, []string{"category", "description", "title"}, ""},
		{"blank title", NewTicket{Title: "   ", Description: "d", Category: "Product"}, []string{"title"}, ""},
		{"bad category", NewTicket{Title: "t", Description: "d", Category: "Hardware"}, []string{"category"}, ""},
		{"bad priority", NewTicket{Title: "t", Description: "d", Category: "Product", Priority: "P0"}, []string{"priority"}, ""},
		{"title at limit", NewTicket{Title: long(MaxTitleLen), Description: "d", Category: "Product"}, nil, PriorityMedium},
		{"title too long", NewTicket{Title: long(MaxTitleLen + 1), Description: "d", Category: "Product"}, []string{"title"}, ""},
		{"description too long", NewTicket{Title: "t", Description: long(MaxDescriptionLen + 1), Category: "Product"}, []string{"description"}, ""},
		{"nul byte", NewTicket{Title: "a\x00b", Description: "d", Category: "Product"}, []string{"title"}, ""},
		{"invalid utf8", NewTicket{Title: "a\xffb", Description: "d", Category: "Product"}, []string{"title"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, prio, err := tt.in.Validate()
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if prio != tt.wantPrio {
					t.Fatalf("priority %q, want %q", prio, tt.wantPrio)
				}
				if tt.in.Title != "VPN down" && tt.name == "ok default priority" {
					t.Fatalf("title not trimmed: %q", tt.in.Title)
				}
				return
			}
			var e *Error
			if !asError(err, &e) || e.Kind != KindInvalid {
				t.Fatalf("error %v, want KindInvalid", err)
			}
			if len(e.Fields) != len(tt.wantFields) {
				t.Fatalf("fields %v, want %v", e.Fields, tt.wantFields)
			}
			for _, f := range tt.wantFields {
				if len(e.Fields[f]) == 0 {
					t.Errorf("missing error for %s in %v", f, e.Fields)
				}
			}
		})
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}
