package desk

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do. Only two exist; the zero value is not a role.
type Role string

// The roles.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// ParseRole returns the role named s, or false.
func ParseRole(s string) (Role, bool) {
	switch Role(s) {
	case RoleAdmin, RoleUser:
		return Role(s), true
	}
	return "", false
}

// User is an account. PasswordHash is never serialised by any layer.
type User struct {
	ID           int64
	Email        string
	Username     string
	PasswordHash string
	Role         Role
	Active       bool
	// TokenVersion changes whenever the user's access must be re-checked
	// (role change, deactivation, password change); tokens carrying an older
	// version stop working.
	TokenVersion int64
	DateJoined   time.Time
	UpdatedAt    time.Time
}

// IsAdmin reports whether u is an active administrator.
func (u *User) IsAdmin() bool { return u != nil && u.Active && u.Role == RoleAdmin }

// Ref returns the public reference to u used inside tickets.
func (u *User) Ref() UserRef { return UserRef{ID: u.ID, Username: u.Username, Email: u.Email} }

// UserRef is the part of a user shown on objects they created.
type UserRef struct {
	ID       int64
	Username string
	Email    string
}

// Limits on account fields.
const (
	MaxEmailLen    = 254
	MaxUsernameLen = 150
	MinUsernameLen = 2
)

// NormalizeEmail returns the key under which an email is unique:
// trimmed and lower-cased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeUsername returns the key under which a username is unique.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail returns a user-facing message if s is not an acceptable
// address, or "".
func ValidateEmail(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "This field is required."
	case len(s) > MaxEmailLen:
		return "Enter a valid email address."
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "Enter a valid email address."
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "Enter a valid email address."
	}
	return ""
}

// ValidateUsername returns a user-facing message if s is not an acceptable
// username, or "". Usernames are ASCII letters, digits and . _ - + @ so that
// look-alike Unicode names cannot impersonate one another.
func ValidateUsername(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "This field is required."
	}
	if n := utf8.RuneCountInString(s); n < MinUsernameLen || n > MaxUsernameLen {
		return "Username must be 2 to 150 characters."
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || r == '+' || r == '@'
		if !ok {
			return "Username may contain only letters, digits and . _ - + @ characters."
		}
	}
	return ""
}
