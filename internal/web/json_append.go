package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Ticket lists are the API's hottest responses. encoding/json spends most
// of its time there on reflection and on re-validating time.Time's output,
// so tickets are written by hand instead. The output is byte for byte what
// encoding/json's Encoder writes for the same value (TestAppendJSON checks
// it, FuzzAppendString for strings), so clients cannot tell the
// difference.

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
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
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

// appendOptString appends *s, or null.
func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func (v *userRefJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, v.ID, 10)
	b = append(b, `,"username":`...)
	b = appendString(b, v.Username)
	b = append(b, `,"email":`...)
	b = appendString(b, v.Email)
	return append(b, '}')
}

func (v *attachmentJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, v.ID, 10)
	b = append(b, `,"filename":`...)
	b = appendString(b, v.Filename)
	b = append(b, `,"content_type":`...)
	b = appendString(b, v.ContentType)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, v.Size, 10)
	b = append(b, `,"url":`...)
	b = appendString(b, v.URL)
	b = append(b, `,"download_url":`...)
	b = appendString(b, v.DownloadURL)
	return append(b, '}')
}

func (v *ticketJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, v.ID, 10)
	b = append(b, `,"title":`...)
	b = appendString(b, v.Title)
	b = append(b, `,"description":`...)
	b = appendString(b, v.Description)
	b = append(b, `,"category":`...)
	b = appendString(b, string(v.Category))
	b = append(b, `,"status":`...)
	b = appendString(b, string(v.Status))
	b = append(b, `,"priority":`...)
	b = appendString(b, string(v.Priority))
	b = append(b, `,"created_by":`...)
	b = v.CreatedBy.appendJSON(b)
	b = append(b, `,"assignee":`...)
	if v.Assignee == nil {
		b = append(b, "null"...)
	} else {
		b = v.Assignee.appendJSON(b)
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, v.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, v.UpdatedAt)
	b = append(b, `,"attachments":`...)
	if v.Attachments == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Attachments {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Attachments[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"attachment":`...)
	b = appendOptString(b, v.Attachment)
	b = append(b, `,"chat_id":`...)
	if v.ChatID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *v.ChatID, 10)
	}
	return append(b, '}')
}

// appendTicketList appends a page of tickets with its paging fields.
func appendTicketList(b []byte, v *listJSON[ticketJSON]) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(v.Count), 10)
	b = append(b, `,"next":`...)
	b = appendOptString(b, v.Next)
	b = append(b, `,"previous":`...)
	b = appendOptString(b, v.Previous)
	b = append(b, `,"results":`...)
	if v.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.Results[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if v.CountExact != nil {
		b = append(b, `,"count_exact":`...)
		b = strconv.AppendBool(b, *v.CountExact)
	}
	if v.Ordering != "" {
		b = append(b, `,"ordering":`...)
		b = appendString(b, v.Ordering)
	}
	if v.NextCursor != nil {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, *v.NextCursor)
	}
	return append(b, '}')
}

// jsonBuffers recycles response buffers; ones grown past maxPooledJSON
// (a page of 100 long tickets) are left to the collector.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledJSON = 256 << 10

// writeAppended answers with the JSON that appendTo appends, with a
// Content-Length and a trailing newline like writeJSON's.
func writeAppended(w http.ResponseWriter, status int, appendTo func([]byte) []byte) {
	bp := jsonBuffers.Get().(*[]byte)
	b := append(appendTo((*bp)[:0]), '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if cap(b) <= maxPooledJSON {
		*bp = b[:0]
		jsonBuffers.Put(bp)
	}
}
