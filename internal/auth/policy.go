package auth

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed common-passwords.txt
var commonPasswordList string

// Policy decides which passwords are acceptable. The zero value is not
// useful; use NewPolicy.
type Policy struct {
	MinLength int
	common    map[string]struct{}
}

// MaxPasswordLen bounds the password length in characters.
const MaxPasswordLen = 256

// NewPolicy returns a policy requiring minLength characters (at least 8) and
// rejecting the 11,000 most common passwords of that length or more.
func NewPolicy(minLength int) *Policy {
	p := &Policy{MinLength: max(minLength, 8), common: map[string]struct{}{}}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			p.common[line] = struct{}{}
		}
	}
	return p
}

// Check returns the reasons password is not acceptable for the account with
// that username and email, or nil. Messages are shown to the user.
func (p *Policy) Check(password, username, email string) []string {
	var msgs []string
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		msgs = append(msgs, "This password is too short. It must contain at least "+itoa(p.MinLength)+" characters.")
	case n > MaxPasswordLen:
		msgs = append(msgs, "This password is too long. It must contain at most 256 characters.")
	}
	lower := strings.ToLower(password)
	if _, ok := p.common[lower]; ok {
		msgs = append(msgs, "This password is too common.")
	}
	if strings.IndexFunc(password, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 && password != "" {
		msgs = append(msgs, "This password is entirely numeric.")
	}
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	// Similar means the name makes up most of the password, or the password
	// is part of the name: "janedoe1" is refused for janedoe,
	// "Nouveau123!@#" (the seed's example) is accepted for nouveau@test.com.
	for _, part := range []string{strings.ToLower(username), local} {
		if len(part) >= 3 && ((strings.Contains(lower, part) && 10*len(part) >= 7*len(lower)) || strings.Contains(part, lower)) {
			msgs = append(msgs, "The password is too similar to the username or email.")
			break
		}
	}
	if !utf8.ValidString(password) || strings.ContainsRune(password, 0) {
		msgs = append(msgs, "This password contains invalid characters.")
	}
	return msgs
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}
