package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"ticketflow/internal/desk"
)

// Ticket lists are the API's hottest responses. encoding/json spends most
// of its time there on reflection and on re-validating time.Time's output,
// so tickets are written by hand instead. The output is byte for byte what
// encoding/json's Encoder writes for the same value (TestAppendJSON checks
// it, FuzzAppendString for strings), so clients cannot tell the
// difference.

// jsonSafe says which ASCII bytes encoding/json writes as they are (with
// its default HTML escaping).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string escaped the way encoding/json
// escapes by default: quotes, backslashes and control characters, the
// HTML-sensitive <, > and &, U+2028 and U+2029 (which break JavaScript
// string literals), and every invalid UTF-8 byte as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, trailing zeros dropped). Stored times are within years
// 0–9999, where MarshalJSON cannot fail.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendKey appends a field's name with its separator: `"name":` right
// after an object's opening brace, `,"name":` after another field. Names
// are the API's plain ASCII field names.
func appendKey(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return append(append(append(b, '"'), name...), '"', ':')
}

// appendNullable appends *v with appendV, or null when v is nil.
func appendNullable[T any](b []byte, v *T, appendV func(*T, []byte) []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return appendV(v, b)
}

// appendArray appends items with appendItem, or null for a nil slice (as
// encoding/json does).
func appendArray[T any](b []byte, items []T, appendItem func(*T, []byte) []byte) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(&items[i], b)
	}
	return append(b, ']')
}

func appendStringPtr(s *string, b []byte) []byte { return appendString(b, *s) }

func appendIntPtr(n *int64, b []byte) []byte { return strconv.AppendInt(b, *n, 10) }

func (v *userRefJSON) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(appendKey(append(b, '{'), "id"), v.ID, 10)
	b = appendString(appendKey(b, "username"), v.Username)
	b = appendString(appendKey(b, "email"), v.Email)
	return append(b, '}')
}

func (v *attachmentJSON) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(appendKey(append(b, '{'), "id"), v.ID, 10)
	b = appendString(appendKey(b, "filename"), v.Filename)
	b = appendString(appendKey(b, "content_type"), v.ContentType)
	b = strconv.AppendInt(appendKey(b, "size"), v.Size, 10)
	b = appendString(appendKey(b, "url"), v.URL)
	b = appendString(appendKey(b, "download_url"), v.DownloadURL)
	return append(b, '}')
}

func (v *ticketJSON) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(appendKey(append(b, '{'), "id"), v.ID, 10)
	b = appendString(appendKey(b, "title"), v.Title)
	b = appendString(appendKey(b, "description"), v.Description)
	b = appendString(appendKey(b, "category"), string(v.Category))
	b = appendString(appendKey(b, "status"), string(v.Status))
	b = appendString(appendKey(b, "priority"), string(v.Priority))
	b = v.CreatedBy.appendJSON(appendKey(b, "created_by"))
	b = appendNullable(appendKey(b, "assignee"), v.Assignee, (*userRefJSON).appendJSON)
	b = appendTime(appendKey(b, "created_at"), v.CreatedAt)
	b = appendTime(appendKey(b, "updated_at"), v.UpdatedAt)
	b = appendArray(appendKey(b, "attachments"), v.Attachments, (*attachmentJSON).appendJSON)
	b = appendNullable(appendKey(b, "attachment"), v.Attachment, appendStringPtr)
	b = appendNullable(appendKey(b, "chat_id"), v.ChatID, appendIntPtr)
	return append(b, '}')
}

// appendTicketList appends a page of tickets with its paging fields (the
// last three are omitempty).
func appendTicketList(b []byte, v *listJSON[ticketJSON]) []byte {
	return appendTicketListWith(b, v, func(b []byte) []byte { return appendArray(b, v.Results, (*ticketJSON).appendJSON) })
}

// appendTicketListWith is appendTicketList with the results appended by
// results instead of from v.Results.
func appendTicketListWith(b []byte, v *listJSON[ticketJSON], results func([]byte) []byte) []byte {
	b = strconv.AppendInt(appendKey(append(b, '{'), "count"), int64(v.Count), 10)
	b = appendNullable(appendKey(b, "next"), v.Next, appendStringPtr)
	b = appendNullable(appendKey(b, "previous"), v.Previous, appendStringPtr)
	b = results(appendKey(b, "results"))
	if v.CountExact != nil {
		b = strconv.AppendBool(appendKey(b, "count_exact"), *v.CountExact)
	}
	if v.Ordering != "" {
		b = appendString(appendKey(b, "ordering"), v.Ordering)
	}
	if v.NextCursor != nil {
		b = appendString(appendKey(b, "next_cursor"), *v.NextCursor)
	}
	return append(b, '}')
}

// appendTicketViews appends the tickets' views as a JSON array; each view
// is made as it is written, not kept in a slice.
func appendTicketViews(b []byte, l linker, tickets []desk.Ticket) []byte {
	b = append(b, '[')
	for i := range tickets {
		if i > 0 {
			b = append(b, ',')
		}
		v := l.ticket(&tickets[i])
		b = v.appendJSON(b)
	}
	return append(b, ']')
}

// jsonBuffers recycles response buffers; ones grown past maxPooledJSON
// (a page of 100 long tickets) are left to the collector.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledJSON = 256 << 10

// writeAppended answers with the JSON that appendTo appends, with a
// Content-Length and a trailing newline like writeJSON's.
func writeAppended(w http.ResponseWriter, r *http.Request, status int, appendTo func([]byte) []byte) {
	writeAppendedKeep(w, r, status, appendTo, nil)
}

// writeAppendedKeep is writeAppended that also hands the body (newline
// included) to keep, if not nil, before it is written; keep must copy it.
func writeAppendedKeep(w http.ResponseWriter, r *http.Request, status int, appendTo func([]byte) []byte, keep func([]byte)) {
	bp := jsonBuffers.Get().(*[]byte)
	b := append(appendTo((*bp)[:0]), '\n')
	if keep != nil {
		keep(b)
	}
	writeJSONBody(w, r, status, b)
	if cap(b) <= maxPooledJSON {
		*bp = b[:0]
		jsonBuffers.Put(bp)
	}
}

// writeJSONBody answers with b, a complete JSON body, headers and body in
// one write where it can (oneWrite).
func writeJSONBody(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	h := w.Header()
	setJSONHeaders(h)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	oneWrite(w, r, b)
}
