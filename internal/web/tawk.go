package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"

	"ticketflow/internal/desk"
)

// DefaultTawkEmbedBase is where the Tawk.to widget script is loaded from.
const DefaultTawkEmbedBase = "https://embed.tawk.to"

var (
	tawkPropertyRE = regexp.MustCompile(`^[0-9a-f]{24}$`)
	tawkWidgetRE   = regexp.MustCompile(`^[0-9a-z]{1,32}$`)
)

// ValidTawkPropertyID reports whether s looks like a Tawk.to property id:
// 24 lower-case hex digits.
func ValidTawkPropertyID(s string) bool { return tawkPropertyRE.MatchString(s) }

// ValidTawkWidgetID reports whether s looks like a Tawk.to widget id:
// "default" or a short lower-case alphanumeric id.
func ValidTawkWidgetID(s string) bool { return tawkWidgetRE.MatchString(s) }

// TawkHash is the Secure Mode hash of a visitor: lower-case hex
// HMAC-SHA256 of the email, keyed with the property's JavaScript API key.
// It is computed on the server so that the key never reaches a browser.
func TawkHash(apiKey, email string) string {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(email))
	return hex.EncodeToString(m.Sum(nil))
}

// tawk is the chat widget's configuration, validated by the command.
type tawk struct {
	scriptURL string // embed base + /property/widget
	origin    string // scheme://host of the embed base, for the CSP
	apiKey    string
}

func newTawk(cfg Config) *tawk {
	if cfg.TawkPropertyID == "" {
		return nil
	}
	base := strings.TrimRight(cfg.TawkEmbedBase, "/")
	if base == "" {
		base = DefaultTawkEmbedBase
	}
	widget := cfg.TawkWidgetID
	if widget == "" {
		widget = "default"
	}
	origin := base
	if u, err := url.Parse(base); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	return &tawk{scriptURL: base + "/" + cfg.TawkPropertyID + "/" + widget, origin: origin, apiKey: cfg.TawkAPIKey}
}

// tawkView is what the page frame hands to static/tawk.js through data
// attributes: the script to load and, for a signed-in user, who they are.
type tawkView struct {
	ScriptURL  string
	Name       string
	Email      string
	Hash       string // empty without an API key
	EndSession bool   // the previous page signed out: end the chat
}

// view returns the widget data for a page seen by u (nil: signed out, so
// no visitor is set).
func (t *tawk) view(u *desk.User, endSession bool) *tawkView {
	v := &tawkView{ScriptURL: t.scriptURL, EndSession: endSession}
	if u != nil {
		v.Name, v.Email = u.Username, u.Email
		if t.apiKey != "" {
			v.Hash = TawkHash(t.apiKey, u.Email)
		}
	}
	return v
}

// allow adds the sources the widget needs to a page's CSP (the list
// INTEGRATIONS.md gives; Tawk publishes none). The widget injects inline
// styles, so style-src gets 'unsafe-inline' while the widget is on.
func (t *tawk) allow(src map[string][]string) {
	const any = "https://*.tawk.to"
	src["script-src"] = append(src["script-src"], t.origin, any)
	src["style-src"] = append(src["style-src"], "'unsafe-inline'", any)
	src["img-src"] = append(src["img-src"], any, "data:", "blob:")
	src["font-src"] = append(src["font-src"], any)
	src["connect-src"] = append(src["connect-src"], any, "wss://*.tawk.to")
	src["frame-src"] = append(src["frame-src"], any)
	if t.origin != DefaultTawkEmbedBase {
		src["connect-src"] = append(src["connect-src"], t.origin)
	}
}
