package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"ticketflow/internal/desk"
)

//go:embed static
var staticFS embed.FS

// assets serves the embedded static files at content-hashed URLs
// (/static/app.3f9a1c2b.css), so they can be cached for a year: a change
// to a file changes its URL.
type assets struct {
	byName map[string]string // "app.css" → "/static/app.3f9a1c2b.css"
	byPath map[string]asset  // "app.3f9a1c2b.css" → the file
}

type asset struct {
	body        []byte
	contentType string
}

func newAssets() *assets {
	a := &assets{byName: map[string]string{}, byPath: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.byName[name] = "/static/" + hashed
		a.byPath[hashed] = asset{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return a
}

// url returns the hashed URL of a static file; a missing name is a bug in
// a template and panics at the first render (every page is tested).
func (a *assets) url(name string) string {
	u, ok := a.byName[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return u
}

// handleStatic serves GET /static/{file}: only hashed names, cached for a
// year and immutable.
func handleStatic(u *ui) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := u.assets.byPath[r.PathValue("file")]
		if !ok {
			u.renderError(w, r, desk.ErrNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Content-Length", itoa(len(f.body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(f.body)
		}
	})
}
