package cloudinaryfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// staleAfter is how old a request's timestamp may be.
const staleAfter = time.Hour

// apiError is a rejection in Cloudinary's shape.
type apiError struct {
	status  int
	message string
}

// authorize checks a signed API request's api_key, timestamp and signature,
// in that order, as Cloudinary does.
func (s *Server) authorize(params url.Values) *apiError {
	key := params.Get("api_key")
	if key == "" {
		return &apiError{http.StatusUnauthorized, "Must supply api_key"}
	}
	if !equal(key, s.cfg.APIKey) {
		return &apiError{http.StatusUnauthorized, fmt.Sprintf("Unknown API key %s", key)}
	}
	tsText := params.Get("timestamp")
	if tsText == "" {
		return &apiError{http.StatusBadRequest, "Missing required parameter - timestamp"}
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return &apiError{http.StatusBadRequest, "Invalid timestamp " + tsText}
	}
	if reported := time.Unix(ts, 0); s.cfg.Now().Sub(reported) > staleAfter {
		return &apiError{http.StatusBadRequest, fmt.Sprintf("Stale request - reported time is %s which is more than 1 hour ago",
			reported.UTC().Format("2006-01-02 15:04:05 -0700"))}
	}
	sig := params.Get("signature")
	if sig == "" {
		return &apiError{http.StatusBadRequest, "Missing required parameter - signature"}
	}
	algo := s.cfg.SignatureAlgorithm
	if params.Get("signature_algorithm") == "sha256" {
		algo = "sha256"
	}
	if toSign := StringToSign(params); !equal(sig, Sign(toSign, s.cfg.APISecret, algo)) {
		return &apiError{http.StatusUnauthorized, fmt.Sprintf("Invalid Signature %s. String to sign - '%s'.", sig, toSign)}
	}
	return nil
}

// writeError answers with Cloudinary's error body.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"message": e.message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
