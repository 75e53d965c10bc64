// Package desk holds TicketFlow's domain: users, tickets and their parts, the
// rules that govern them, and the error kinds every layer speaks. It has no
// I/O and depends only on the standard library.
package desk

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind classifies an error so that one place (the web layer) can decide what
// a client sees. Details of KindInternal errors are logged, never shown.
type Kind uint8

// The error kinds, from the most generic to the most specific.
const (
	KindInternal        Kind = iota // a bug or an unexpected failure: 500
	KindInvalid                     // bad input, with field errors: 400
	KindUnauthenticated             // no or bad credentials: 401
	KindForbidden                   // authenticated but not allowed: 403
	KindNotFound                    // missing, or not visible to the actor: 404
	KindConflict                    // violates a uniqueness or state rule: 409
	KindTooLarge                    // body or file over the limit: 413
	KindUnsupported                 // media type not accepted: 415
	KindRateLimited                 // too many attempts: 429
	KindUnavailable                 // a dependency is down; retry later: 503
)

var kindNames = [...]string{"internal", "invalid", "unauthenticated", "forbidden", "not_found",
	"conflict", "too_large", "unsupported_media_type", "rate_limited", "unavailable"}

// String returns the stable snake_case code used in JSON error bodies.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is the error type every layer returns for expected failures.
// Message and Fields are safe to show to the user; Err is the cause, for logs.
type Error struct {
	Kind       Kind
	Message    string
	Fields     map[string][]string // field name → messages; only for KindInvalid
	RetryAfter time.Duration       // only for KindRateLimited and KindUnavailable
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, " %s=%q", k, e.Fields[k])
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a user-visible message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind whose cause is err.
func Wrap(kind Kind, err error, message string) *Error {
	return &Error{Kind: kind, Message: message, Err: err}
}

// ErrorKind reports the kind of err: the kind of the first *Error in its
// chain, or KindInternal for any other non-nil error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && ErrorKind(err) == k }

// FieldErrors collects validation messages per field. The zero value is ready
// to use; Err returns nil when nothing was added.
type FieldErrors map[string][]string

// Add records msg for field.
func (f *FieldErrors) Add(field, msg string) {
	if *f == nil {
		*f = FieldErrors{}
	}
	(*f)[field] = append((*f)[field], msg)
}

// Err returns a KindInvalid *Error holding the fields, or nil if there are none.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: "Invalid input.", Fields: f}
}

// Invalid returns a KindInvalid error for a single field.
func Invalid(field, msg string) *Error {
	return &Error{Kind: KindInvalid, Message: "Invalid input.", Fields: map[string][]string{field: {msg}}}
}

// ErrNotFound is the error returned for a missing object, and for an object
// the actor may not see (so that existence is not disclosed).
var ErrNotFound = &Error{Kind: KindNotFound, Message: "Not found."}
