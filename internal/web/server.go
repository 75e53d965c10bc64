// Package web serves TicketFlow over HTTP: the JSON API, the server-rendered
// pages and the event streams. It holds no state of its own beyond what
// NewServer is given, and calls package app for every use case.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"ticketflow/internal/app"
	"ticketflow/internal/realtime"
)

// Config is the HTTP layer's configuration.
type Config struct {
	// BaseURL is the public URL (scheme://host[:port]) used in links; empty
	// means the URL each request came to.
	BaseURL string
	// CORSOrigins may call the API from other origins (the seeds' own front
	// ends, for example). Empty: same origin only.
	CORSOrigins []string
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// URLKey signs attachment links (at least 32 random bytes).
	URLKey []byte
	// HSTS adds Strict-Transport-Security (set when served over HTTPS).
	HSTS    bool
	Version string
	// Ready reports whether the database answers (for /readyz).
	Ready func(context.Context) error
	Now   func() time.Time

	// Tawk.to chat widget, on every page when TawkPropertyID is set (24 hex
	// digits; the command validates it). TawkWidgetID defaults to
	// "default"; TawkAPIKey, if set, turns on Secure Mode (the visitor hash
	// is computed here and the key never reaches a browser). TawkEmbedBase
	// is where the widget script comes from (default DefaultTawkEmbedBase;
	// tests point it at a local stand-in).
	TawkPropertyID string
	TawkWidgetID   string
	TawkAPIKey     string
	TawkEmbedBase  string
	// Hub serves the live event streams; nil answers them with 503.
	Hub *realtime.Hub
	// TawkWebhookSecret enables POST /api/integrations/tawk; empty: 404.
	TawkWebhookSecret string
}

// NewServer returns the whole HTTP handler.
func NewServer(cfg Config, log *slog.Logger, svc *app.Service) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) error { return nil }
	}
	mux := http.NewServeMux()
	pages := newUI(cfg, log, svc)
	addRoutes(mux, cfg, log, svc, pages)
	var h http.Handler = mux
	h = htmlErrors(pages, h)
	h = apiErrors(h)
	h = trimSlash(h)
	h = cors(cfg.CORSOrigins, h)
	h = clientIP(cfg.TrustedProxies, h)
	h = securityHeaders(cfg.HSTS, h)
	h = logRequests(log, h)
	return h
}
