package cloudinaryfake

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// handleDelivery serves GET /<cloud>/<resource_type>/<type>/s--SIG--/[<transformation>/v<version>/]<file>
// for authenticated assets whose signature matches. It serves originals only:
// a signed transformation is answered with 501.
func (s *Server) handleDelivery(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("cloud") != s.cfg.CloudName || r.PathValue("dtype") != "authenticated" {
		http.NotFound(w, r)
		return
	}
	segs := strings.Split(r.PathValue("rest"), "/")
	sig := segs[0]
	if !strings.HasPrefix(sig, "s--") || !strings.HasSuffix(sig, "--") || len(segs) < 2 {
		http.Error(w, "signature required", http.StatusUnauthorized)
		return
	}
	transformation, file := splitDelivery(segs[1:])
	toSign := file
	if transformation != "" {
		toSign = transformation + "/" + file
	}
	if !equal(sig, DeliverySignature(toSign, s.cfg.APISecret, s.cfg.SignatureAlgorithm)) {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if transformation != "" {
		http.Error(w, "transformations are not implemented by the fake", http.StatusNotImplemented)
		return
	}
	a, ok := s.lookup(r.PathValue("rtype"), file)
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(file))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
	io.Copy(w, bytes.NewReader(a.Data))
}

// splitDelivery splits the path after the signature into the transformation
// (the segments before a v<digits> version segment) and the file. Without a
// version segment everything is the file, as Cloudinary reads it.
func splitDelivery(segs []string) (transformation, file string) {
	for i, seg := range segs {
		if isVersion(seg) && i < len(segs)-1 {
			return strings.Join(segs[:i], "/"), strings.Join(segs[i+1:], "/")
		}
	}
	return "", strings.Join(segs, "/")
}

func isVersion(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	_, err := strconv.ParseUint(seg[1:], 10, 64)
	return err == nil
}

// lookup finds the authenticated asset a delivery file names: raw files by
// their full public ID, images by public ID plus their format's extension.
func (s *Server) lookup(rtype, file string) (*Asset, bool) {
	if rtype == "raw" {
		return s.get(assetID{"raw", "authenticated", file})
	}
	ext := path.Ext(file)
	a, ok := s.get(assetID{rtype, "authenticated", strings.TrimSuffix(file, ext)})
	if !ok || (a.Format != strings.TrimPrefix(ext, ".") && !(a.Format == "jpg" && ext == ".jpeg")) {
		return nil, false
	}
	return a, true
}

// handleDestroy serves POST /v1_1/<cloud>/<resource_type>/destroy. The SDK
// sends a urlencoded body without a Content-Type, so the raw body is parsed.
func (s *Server) handleDestroy(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("cloud") != s.cfg.CloudName {
		writeError(w, &apiError{http.StatusNotFound, "Unknown cloud " + r.PathValue("cloud")})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxParamBytes))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "Request could not be read"})
		return
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, &apiError{http.StatusBadRequest, "Malformed parameters"})
		return
	}
	if e := s.authorize(params); e != nil {
		writeError(w, e)
		return
	}
	typ := params.Get("type")
	if typ == "" {
		typ = "upload"
	}
	result := "not found"
	if s.remove(assetID{r.PathValue("rtype"), typ, params.Get("public_id")}) {
		result = "ok"
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": result})
}
