// Package sample generates realistic helpdesk data for load tests and
// demos: users with plausible names, and tickets whose words, categories,
// statuses, priorities, owners and dates vary the way a real queue does.
// Word frequencies follow a Zipf law, so some search terms match almost
// half of all tickets and others a handful.
package sample

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"ticketflow/internal/desk"
)

// Generator makes deterministic sample data from a seed.
type Generator struct {
	rng  *rand.Rand
	zipf *rand.Zipf
}

// New returns a generator; the same seed gives the same data.
func New(seed uint64) *Generator {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &Generator{rng: rng, zipf: rand.NewZipf(rng, 1.07, 2, uint64(len(vocabulary)-1))}
}

var firstNames = strings.Fields(`amira ben carla dmitri elena farid grace hiro ines jonas kofi lena marco nadia omar
	priya quentin rosa sami tariq uma victor wen xavier yara zoe aisha bruno chloe diego emma felix`)
var lastNames = strings.Fields(`adams baker chen diaz evans fischer garcia haddad ito jensen khan lopez martin novak
	okafor patel quinn rossi silva tanaka ueda vargas weber xu yilmaz zimmer`)

// Users returns n users (role user, active) with unique emails and
// usernames, all with passwordHash.
func (g *Generator) Users(n int, passwordHash string, joined time.Time) []desk.User {
	users := make([]desk.User, n)
	for i := range users {
		f, l := pick(g.rng, firstNames), pick(g.rng, lastNames)
		name := fmt.Sprintf("%s.%s%d", f, l, i+1)
		users[i] = desk.User{Email: name + "@example.com", Username: name, PasswordHash: passwordHash,
			Role: desk.RoleUser, Active: true, DateJoined: joined}
	}
	return users
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// Tickets returns n tickets created between from and to in ascending time
// (so ids follow creation order, as in a live system), owned by owners.
// Older tickets are more often resolved.
func (g *Generator) Tickets(n int, owners []desk.UserRef, from, to time.Time) []desk.Ticket {
	out := make([]desk.Ticket, n)
	span := to.Sub(from)
	for i := range out {
		created := from.Add(time.Duration(float64(span) * (float64(i) + g.rng.Float64()) / float64(n))).Truncate(time.Microsecond)
		out[i] = g.ticket(owners, created, to)
	}
	return out
}

func (g *Generator) ticket(owners []desk.UserRef, created, now time.Time) desk.Ticket {
	cat := desk.Categories[weighted(g.rng, 55, 25, 20)]
	topic := pick(g.rng, topics[cat])
	title := fmt.Sprintf(pick(g.rng, titleShapes), topic.thing, pick(g.rng, topic.problems))
	if g.rng.IntN(4) == 0 {
		title += " " + pick(g.rng, urgency)
	}
	var d strings.Builder
	d.WriteString(strings.ToUpper(title[:1]) + title[1:] + ". ")
	for s := 0; s < 2+g.rng.IntN(5); s++ {
		d.WriteString(g.sentence())
		d.WriteByte(' ')
	}
	if g.rng.IntN(100) < 12 {
		fmt.Fprintf(&d, "Error code E%04d. ", g.rng.IntN(10000))
	}
	if g.rng.IntN(100) < 45 {
		d.WriteString(pick(g.rng, closings))
	}
	age := now.Sub(created)
	// The older the ticket, the likelier it is resolved.
	resolvedPct := min(92, int(age.Hours()/24/3)+10)
	status := desk.StatusNew
	switch r := g.rng.IntN(100); {
	case r < resolvedPct:
		status = desk.StatusResolved
	case r < resolvedPct+(100-resolvedPct)/2:
		status = desk.StatusUnderReview
	}
	updated := created
	if status != desk.StatusNew {
		updated = created.Add(time.Duration(g.rng.Int64N(int64(min(age, 14*24*time.Hour)) + 1)))
	}
	return desk.Ticket{Title: title, Description: strings.TrimSpace(d.String()), Category: cat, Status: status,
		Priority: desk.Priorities[weighted(g.rng, 20, 50, 22, 8)], CreatedBy: owners[g.ownerIndex(len(owners))],
		CreatedAt: created, UpdatedAt: updated.Truncate(time.Microsecond)}
}

// ownerIndex favours some users (a few people file most tickets).
func (g *Generator) ownerIndex(n int) int {
	if g.rng.IntN(3) == 0 {
		return g.rng.IntN(max(n/20, 1))
	}
	return g.rng.IntN(n)
}

func (g *Generator) sentence() string {
	shape := pick(g.rng, sentenceShapes)
	words := make([]any, strings.Count(shape, "%s"))
	for i := range words {
		words[i] = vocabulary[g.zipf.Uint64()]
	}
	return fmt.Sprintf(shape, words...)
}

func weighted(r *rand.Rand, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
