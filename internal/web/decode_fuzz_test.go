package web

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"ticketflow/internal/desk"
)

// fuzzBody has the field types request bodies use.
type fuzzBody struct {
	Title    string  `json:"title"`
	Role     *string `json:"role"`
	IsActive *bool   `json:"is_active"`
	Internal bool    `json:"internal"`
	Count    int     `json:"count"`
}

// FuzzDecode feeds decode any body under any content type. Properties: it
// never panics; a failure is a client error (400, 413 or 415), never an
// internal one; a JSON body it accepts is one JSON object (or null) that
// encoding/json decodes to the same value, with nothing after it.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"title":"x","role":"admin","is_active":false,"internal":true,"count":3}`},
		{"application/json", `{"title":5}`},
		{"application/json", `{"a":1} {"b":2}`},
		{"application/json", `{}]`},
		{"application/json", `{}}`},
		{"application/json", `[]`},
		{"application/json", `null`},
		{"application/json", ` {"title":"\u0000\ud800"} `},
		{"application/json; charset=utf-8", `{"title":"é"}`},
		{"", `{"title":"no content type"}`},
		{"application/x-www-form-urlencoded", "title=a&role=admin&is_active=true"},
		{"application/x-www-form-urlencoded", "%zz=1"},
		{"multipart/form-data; boundary=xx", "--xx\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhi\r\n--xx--\r\n"},
		{"multipart/form-data", "x"},
		{"text/xml", "<a/>"},
		{"application/json", strings.Repeat("[", 5000)},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		req := httptest.NewRequest("POST", "/api/x", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		var got fuzzBody
		err := decode(httptest.NewRecorder(), req, &got)
		if err != nil {
			e := unwrapErr(err)
			if e == nil || (e.Kind != desk.KindInvalid && e.Kind != desk.KindTooLarge && e.Kind != desk.KindUnsupported) {
				t.Fatalf("decode(%q, %q): %v is not a client error", ct, body, err)
			}
			return
		}
		if mt, _, _ := mime.ParseMediaType(ct); mt != "" && mt != "application/json" {
			return // a form: its values went through a map
		}
		var want fuzzBody
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("decode accepted %q, which encoding/json refuses: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %+v, encoding/json gives %+v", body, got, want)
		}
		if trimmed := bytes.TrimSpace(body); !bytes.HasPrefix(trimmed, []byte("{")) && !bytes.Equal(trimmed, []byte("null")) {
			t.Fatalf("decode accepted a body that is not an object: %q", body)
		}
	})
}
