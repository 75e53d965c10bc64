package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// getPage fetches a page without following redirects.
func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServePagesAndTawk(t *testing.T) {
	t.Parallel()
	// Zero configuration: the UI is there and loads nothing from elsewhere.
	s := startServer(t, envFunc("TICKETFLOW_DATA_DIR", filepath.Join(t.TempDir(), "data")))
	if res, _ := getPage(t, s.url+"/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("/: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := getPage(t, s.url+"/login")
	if res.StatusCode != 200 || !strings.Contains(body, `action="/login"`) || strings.Contains(body, "tawk") || strings.Contains(res.Header.Get("Content-Security-Policy"), "tawk") {
		t.Fatalf("/login without Tawk: %d", res.StatusCode)
	}

	// The widget from the environment; the API key only as a hash.
	s = startServer(t, envFunc("TICKETFLOW_DATA_DIR", filepath.Join(t.TempDir(), "data"),
		"TAWK_PROPERTY_ID", "58ca8453b8a7e060cd3b1ecb", "TAWK_WIDGET_ID", "1hf0abc", "TAWK_API_KEY", "k-0123456789"))
	res, body = getPage(t, s.url+"/login")
	if !strings.Contains(body, `data-src="https://embed.tawk.to/58ca8453b8a7e060cd3b1ecb/1hf0abc"`) || strings.Contains(body, "k-0123456789") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "https://embed.tawk.to https://*.tawk.to") {
		t.Fatalf("/login with Tawk:\n%s", body)
	}
}
