package sample

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
)

func TestTicketsAreValidAndVaried(t *testing.T) {
	t.Parallel()
	g := New(1)
	owners := []desk.UserRef{{ID: 1}, {ID: 2}, {ID: 3}}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ts := g.Tickets(5000, owners, now.AddDate(-2, 0, 0), now)
	cats, stats, prios := map[desk.Category]int{}, map[desk.Status]int{}, map[desk.Priority]int{}
	please, errCode := 0, 0
	for i, tk := range ts {
		n := desk.NewTicket{Title: tk.Title, Description: tk.Description, Category: string(tk.Category), Priority: string(tk.Priority)}
		if _, _, err := n.Validate(); err != nil {
			t.Fatalf("ticket %d invalid: %v (%+v)", i, err, tk)
		}
		if i > 0 && tk.CreatedAt.Before(ts[i-1].CreatedAt) {
			t.Fatalf("ticket %d out of order", i)
		}
		if tk.UpdatedAt.Before(tk.CreatedAt) || tk.UpdatedAt.After(now) {
			t.Fatalf("ticket %d updated at %v", i, tk.UpdatedAt)
		}
		cats[tk.Category]++
		stats[tk.Status]++
		prios[tk.Priority]++
		if strings.Contains(strings.ToLower(tk.Description), "please") {
			please++
		}
		if strings.Contains(tk.Description, "Error code E") {
			errCode++
		}
	}
	if len(cats) != 3 || len(stats) != 3 || len(prios) != 4 {
		t.Fatalf("not varied: %v %v %v", cats, stats, prios)
	}
	// "please" is a very common term; error codes are rare.
	if please < 1800 || please > 2700 || errCode < 300 || errCode > 900 {
		t.Fatalf("please in %d, error codes in %d of 5000", please, errCode)
	}
	// Deterministic.
	again := New(1).Tickets(5000, owners, now.AddDate(-2, 0, 0), now)
	for i := range again {
		if !reflect.DeepEqual(again[i], ts[i]) {
			t.Fatalf("not deterministic at %d", i)
		}
	}
	us := New(2).Users(300, "h", now)
	seen := map[string]bool{}
	for _, u := range us {
		if desk.ValidateEmail(u.Email) != "" || desk.ValidateUsername(u.Username) != "" || seen[u.Username] {
			t.Fatalf("bad user %+v", u)
		}
		seen[u.Username] = true
	}
}
