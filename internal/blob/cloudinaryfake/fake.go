// Package cloudinaryfake is a local stand-in for Cloudinary's Upload API and
// delivery CDN, for tests. It checks what the real service checks (per
// shared/INTEGRATIONS.md): API key, request signature (SHA-1, or SHA-256
// when configured or when the request says signature_algorithm=sha256),
// timestamps no older than an hour, the 10,485,760-byte file limit, and
// signed delivery URLs for authenticated assets. It answers with the same
// status codes and {"error":{"message":…}} bodies.
//
// Uploads are parsed as a multipart stream; a file is kept in memory only up
// to the limit, and the rest of an oversized file is counted and discarded.
//
// Routes:
//
//	POST /v1_1/<cloud>/<resource_type>/upload      (resource_type auto, image or raw)
//	POST /v1_1/<cloud>/<resource_type>/destroy     (urlencoded body, Content-Type not required)
//	GET  /<cloud>/<resource_type>/authenticated/s--SIG--/[v<version>/]<public_id>.<ext>
package cloudinaryfake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// MaxBytes is the per-file limit the fake enforces (the free plan's).
const MaxBytes = 10_485_760

// Config describes the account the fake serves.
type Config struct {
	CloudName string // default "demo"
	APIKey    string // default "123456789012345"
	APISecret string // default "fake-secret"
	// SignatureAlgorithm is the account's setting: "sha1" (default) or "sha256".
	SignatureAlgorithm string
	// Now is the clock used for timestamps (default time.Now).
	Now func() time.Time
}

// Asset is a stored asset, as the fake's inspection methods return it.
type Asset struct {
	PublicID     string
	ResourceType string // "image" or "raw"
	Type         string // delivery type, e.g. "authenticated"
	Format       string // images only
	Version      int64
	Data         []byte
}

type assetID struct{ resourceType, typ, publicID string }

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	base string // the started server's URL, set before it serves

	mux *http.ServeMux

	mu     sync.Mutex
	assets map[assetID]*Asset
}

// Start starts a fake for cfg on a loopback port and stops it when tb ends.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := New(cfg)
	srv := httptest.NewUnstartedServer(s)
	s.base = "http://" + srv.Listener.Addr().String()
	srv.Start()
	tb.Cleanup(srv.Close)
	return s
}

// New returns a fake that is not listening, for use as an http.Handler.
func New(cfg Config) *Server {
	if cfg.CloudName == "" {
		cfg.CloudName = "demo"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = "123456789012345"
	}
	if cfg.APISecret == "" {
		cfg.APISecret = "fake-secret"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), assets: map[assetID]*Asset{}}
	s.mux.HandleFunc("POST /v1_1/{cloud}/{rtype}/upload", s.handleUpload)
	s.mux.HandleFunc("POST /v1_1/{cloud}/{rtype}/destroy", s.handleDestroy)
	s.mux.HandleFunc("GET /{cloud}/{rtype}/{dtype}/{rest...}", s.handleDelivery)
	return s
}

// Config returns the fake's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// URL returns the base URL of a started fake (both API and delivery).
func (s *Server) URL() string { return s.base }

// CloudinaryURL returns a CLOUDINARY_URL pointing the SDK (upload_prefix)
// and TicketFlow's downloads (delivery_prefix) at a started fake.
func (s *Server) CloudinaryURL() string {
	q := url.Values{"upload_prefix": {s.base}, "delivery_prefix": {s.base}}
	if s.cfg.SignatureAlgorithm != "" {
		q.Set("signature_algorithm", s.cfg.SignatureAlgorithm)
	}
	u := url.URL{Scheme: "cloudinary", User: url.UserPassword(s.cfg.APIKey, s.cfg.APISecret), Host: s.cfg.CloudName, RawQuery: q.Encode()}
	return u.String()
}

// ServeHTTP routes a request to the Upload API or the delivery handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Asset returns a copy of the stored asset, if any.
func (s *Server) Asset(resourceType, typ, publicID string) (Asset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assets[assetID{resourceType, typ, publicID}]
	if !ok {
		return Asset{}, false
	}
	return *a, true
}

// Len returns the number of stored assets.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.assets)
}

func (s *Server) put(a *Asset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assets[assetID{a.ResourceType, a.Type, a.PublicID}] = a
}

func (s *Server) get(id assetID) (*Asset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assets[id]
	return a, ok
}

func (s *Server) remove(id assetID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.assets[id]
	delete(s.assets, id)
	return ok
}
