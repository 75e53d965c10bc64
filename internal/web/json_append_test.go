package web

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/desk"
)

// trickyStrings exercise every escaping rule of appendString.
func trickyStrings() []string {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	return []string{"", "plain", ascii.String(), `<script>alert("x")</script> & more`, "tab\there\nnew\r\b\f",
		"caf\u00e9 \u4e2d\u6587 \U0001F600", "line\u2028para\u2029end", "bad \xff\xfe bytes \xc3", "\xe2\x80", "trail\\",
		"\x00\x1f\x7f", "\u2027\u202a"}
}

func sampleTickets() []ticketJSON {
	at := time.Date(2026, 11, 23, 17, 4, 5, 123456000, time.UTC)
	one := "https://desk.example/api/attachments/1?t=abc"
	chat := int64(42)
	var out []ticketJSON
	for i, s := range trickyStrings() {
		t := ticketJSON{ID: int64(i + 1), Title: s, Description: strings.Repeat(s, 3), Category: desk.CategoryTechnical,
			Status: desk.StatusUnderReview, Priority: desk.Priorities[i%len(desk.Priorities)],
			CreatedBy: userRefJSON{ID: 7, Username: s, Email: "a@b.example"},
			CreatedAt: at.Add(time.Duration(i) * time.Millisecond), UpdatedAt: at.Add(time.Duration(i) * time.Second),
			Attachments: []attachmentJSON{}}
		switch i % 3 {
		case 0:
			t.Assignee = &userRefJSON{ID: 1, Username: "root", Email: s}
			t.ChatID = &chat
		case 1:
			t.Attachments = []attachmentJSON{{ID: 1, Filename: s + ".pdf", ContentType: "application/pdf", Size: 1 << 40, URL: one, DownloadURL: one + "&x=<y>"},
				{ID: 2, Filename: "b.png", ContentType: "image/png", Size: 0}}
			t.Attachment = &one
		case 2:
			t.Attachments = nil
			t.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -5*3600))
		}
		out = append(out, t)
	}
	return out
}

// encode is what writeJSON sends for v.
func encode(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAppendTicketViews checks the list handler's results array against
// encoding/json's output for the same views.
func TestAppendTicketViews(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	l := linker{base: "https://help.example.com", viewer: 7, now: now,
		signer: &urlSigner{key: []byte("0123456789abcdef0123456789abcdef"), now: func() time.Time { return now }}}
	at := time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)
	tickets := []desk.Ticket{
		{ID: 1, Title: "Printer <jams>", Description: "line\nbreak \"quoted\" \u2028", Category: desk.CategoryTechnical,
			Status: desk.StatusNew, Priority: desk.PriorityHigh, CreatedBy: desk.UserRef{ID: 3, Username: "amira", Email: "a@example.com"},
			CreatedAt: at, UpdatedAt: at.Add(time.Hour)},
		{ID: 2, Title: "Refund", Description: "", Category: desk.CategoryFinancial, Status: desk.StatusResolved,
			Priority: desk.PriorityLow, CreatedBy: desk.UserRef{ID: 4, Username: "bo", Email: "b@example.com"},
			Assignee: &desk.UserRef{ID: 1, Username: "admin", Email: "admin@example.com"}, CreatedAt: at, UpdatedAt: at, ChatID: 9,
			Attachments: []desk.Attachment{{ID: 5, TicketID: 2, Filename: "scan & copy.pdf", ContentType: "application/pdf", Size: 1234},
				{ID: 6, TicketID: 2, Filename: "b.png", ContentType: "image/png", Size: 1}}},
	}
	for _, n := range []int{0, 1, 2} {
		views := make([]ticketJSON, 0, n)
		for i := range tickets[:n] {
			views = append(views, l.ticket(&tickets[i]))
		}
		want := strings.TrimSuffix(encode(t, views), "\n")
		if got := string(appendTicketViews(nil, l, tickets[:n])); got != want {
			t.Errorf("%d tickets:\n got %s\nwant %s", n, got, want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	tickets := sampleTickets()
	for i := range tickets {
		want := encode(t, tickets[i])
		if got := string(tickets[i].appendJSON(nil)) + "\n"; got != want {
			t.Errorf("ticket %d:\n got %s\nwant %s", i, got, want)
		}
	}
	next, prev, cursor, exact := "https://x/api/tickets?page=3&a=<b>", "https://x/api/tickets?page=1", "abc_-", false
	lists := []listJSON[ticketJSON]{
		{Count: 0, Results: []ticketJSON{}},
		{Count: 3, Results: nil},
		{Count: 1234567, Next: &next, Previous: &prev, Results: tickets, CountExact: &exact, Ordering: "-updated_at", NextCursor: &cursor},
		{Count: 12, Next: &next, Results: tickets[:2], Ordering: "relevance"},
	}
	for i := range lists {
		want := encode(t, lists[i])
		rec := httptest.NewRecorder()
		writeAppended(rec, httptest.NewRequest("GET", "/api/tickets", nil), http.StatusOK, func(b []byte) []byte { return appendTicketList(b, &lists[i]) })
		if got := rec.Body.String(); got != want {
			t.Errorf("list %d:\n got %s\nwant %s", i, got, want)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Errorf("list %d is not valid JSON", i)
		}
		if h := rec.Header(); h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != itoa(len(want)) {
			t.Errorf("list %d headers %v", i, h)
		}
	}
}

// TestAppendStringRandom compares appendString with encoding/json on
// random bytes, valid and invalid UTF-8 alike.
func TestAppendStringRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\n", "\x01", "\x7f", "\xff", "\xc3", "\xa9", "é", "\u2028", "\u2029", "中", "\U0001F600", "\xe2\x80"}
	for range 5000 {
		var s strings.Builder
		for range rng.IntN(24) {
			s.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		want, _ := json.Marshal(s.String())
		if got := appendString(nil, s.String()); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s.String(), got, want)
		}
	}
}

// TestAppendStringEveryByte puts every byte value at every offset of a
// run of plain ASCII, before nothing, one byte or a longer run: an
// escaper that looks at several bytes at once must still find each one.
func TestAppendStringEveryByte(t *testing.T) {
	for c := range 256 {
		for pos := range 17 {
			for _, tail := range []string{"", "b", strings.Repeat("b", 9)} {
				s := strings.Repeat("a", pos) + string([]byte{byte(c)}) + tail
				want, _ := json.Marshal(s)
				if got := appendString(nil, s); !bytes.Equal(got, want) {
					t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
				}
			}
		}
	}
}

// BenchmarkAppendString escapes a ticket description of plain text with
// a few characters that need escaping.
func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("The printer on the third floor jams when printing double-sided; error E0042 shows. ", 4) + "Thanks & regards,\n\"Amira\""
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range trickyStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}
