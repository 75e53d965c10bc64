package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"ticketflow/internal/desk"
)

// maxJSONBody caps every JSON or form body.
const maxJSONBody = 1 << 20

// decode reads a JSON or urlencoded body into dst. Unknown fields are
// ignored (so a "role" in a registration body has no effect); fields of the
// wrong type are field errors; bodies over maxJSONBody are KindTooLarge.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json", "":
		return decodeJSON(r.Body, dst)
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(maxJSONBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return bodyError(err)
		}
		m := map[string]any{}
		for k, v := range r.Form {
			if len(v) > 0 {
				m[k] = v[0]
			}
		}
		b, _ := json.Marshal(m)
		return decodeJSON(strings.NewReader(string(b)), dst)
	}
	return &desk.Error{Kind: desk.KindUnsupported, Message: "Unsupported media type \"" + ct + "\" in request."}
}

func decodeJSON(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	if err := dec.Decode(dst); err != nil {
		if err == io.EOF {
			return desk.Errorf(desk.KindInvalid, "The request body is empty; send a JSON object.")
		}
		return bodyError(err)
	}
	// Only white space may follow (dec.More alone lets a stray "]" or "}"
	// through).
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return bodyError(err)
		}
		return desk.Errorf(desk.KindInvalid, "JSON parse error - extra data after the object.")
	}
	return nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return desk.Errorf(desk.KindTooLarge, "Request body too large.")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return desk.Invalid(typeErr.Field, "Expected a "+typeErr.Type.String()+".")
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr), errors.Is(err, io.ErrUnexpectedEOF):
		return desk.Wrap(desk.KindInvalid, err, "JSON parse error - the body is not a valid JSON object.")
	}
	return desk.Wrap(desk.KindInvalid, err, "Malformed request body.")
}
