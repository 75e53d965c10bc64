package desk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	good := []string{"jane@example.com", "a.b+c@sub.example.org", "nouveau@test.com"}
	bad := []string{"", "jane", "jane@", "@example.com", "jane@localhost", "Jane <jane@example.com>",
		"ja ne@example.com", "jane@exa\nmple.com", strings.Repeat("a", 250) + "@x.com", "\"<script>\"@x.com"}
	for _, s := range good {
		if msg := ValidateEmail(s); msg != "" {
			t.Errorf("ValidateEmail(%q) = %q", s, msg)
		}
	}
	for _, s := range bad {
		if ValidateEmail(s) == "" {
			t.Errorf("ValidateEmail(%q) accepted", s)
		}
	}
}

func TestValidateUsername(t *testing.T) {
	t.Parallel()
	good := []string{"jo", "nouveauuser", "jane.doe", "a_b-c+d@e", strings.Repeat("x", 150)}
	bad := []string{"", "j", strings.Repeat("x", 151), "jane doe", "jаne" /* Cyrillic a */, "<b>", "ja/ne", "ja'ne"}
	for _, s := range good {
		if msg := ValidateUsername(s); msg != "" {
			t.Errorf("ValidateUsername(%q) = %q", s, msg)
		}
	}
	for _, s := range bad {
		if ValidateUsername(s) == "" {
			t.Errorf("ValidateUsername(%q) accepted", s)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	if NormalizeEmail(" Jane@Example.COM ") != "jane@example.com" {
		t.Error("email not normalised")
	}
	if NormalizeUsername("JaneDoe") != "janedoe" {
		t.Error("username not normalised")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	var fe FieldErrors
	if fe.Err() != nil {
		t.Fatal("empty FieldErrors is an error")
	}
	fe.Add("title", "required")
	err := fmt.Errorf("context: %w", fe.Err())
	if ErrorKind(err) != KindInvalid || !IsKind(err, KindInvalid) {
		t.Fatalf("kind lost through wrapping: %v", ErrorKind(err))
	}
	if ErrorKind(errors.New("boom")) != KindInternal {
		t.Fatal("plain error is not internal")
	}
	if IsKind(nil, KindInternal) {
		t.Fatal("nil has a kind")
	}
	cause := errors.New("disk on fire")
	w := Wrap(KindUnavailable, cause, "try later")
	if !errors.Is(w, cause) || !strings.Contains(w.Error(), "disk on fire") {
		t.Fatalf("cause lost: %v", w)
	}
	for k := KindInternal; k <= KindUnavailable; k++ {
		if k.String() == "" || (k != KindInternal && k.String() == "internal") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if Kind(200).String() != "internal" {
		t.Error("unknown kind name")
	}
}
