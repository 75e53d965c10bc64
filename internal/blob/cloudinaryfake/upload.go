package cloudinaryfake

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/gif" // for image sizes in upload responses
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// maxParamBytes bounds a non-file form field.
const maxParamBytes = 64 << 10

// upload is a parsed upload request.
type upload struct {
	params   url.Values
	data     []byte // nil when the file was over MaxBytes
	size     int64  // the file's full length
	hasFile  bool
	filename string
}

// handleUpload serves POST /v1_1/<cloud>/<resource_type>/upload.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("cloud") != s.cfg.CloudName {
		writeError(w, &apiError{http.StatusNotFound, "Unknown cloud " + r.PathValue("cloud")})
		return
	}
	up, err := readUpload(r)
	if err != nil {
		// Usually the client went away mid-body: nothing is stored.
		writeError(w, &apiError{http.StatusBadRequest, "Upload could not be read: " + err.Error()})
		return
	}
	if e := s.authorize(up.params); e != nil {
		writeError(w, e)
		return
	}
	a, e := s.newAsset(r.PathValue("rtype"), up)
	if e != nil {
		writeError(w, e)
		return
	}
	if existing, ok := s.get(assetID{a.ResourceType, a.Type, a.PublicID}); ok && !overwrite(up.params) {
		a = existing
	} else {
		s.put(a)
	}
	writeJSON(w, http.StatusOK, s.response(a, up.filename))
}

// readUpload parses a multipart upload as a stream, keeping the file in
// memory only up to MaxBytes and counting (not keeping) the rest.
func readUpload(r *http.Request) (*upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	up := &upload{params: url.Values{}}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return up, nil
		}
		if err != nil {
			return nil, err
		}
		if part.FormName() != "file" {
			v, err := io.ReadAll(io.LimitReader(part, maxParamBytes))
			if err != nil {
				return nil, err
			}
			up.params.Add(part.FormName(), string(v))
			continue
		}
		up.hasFile, up.filename = true, part.FileName()
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(part, MaxBytes+1))
		if err != nil {
			return nil, err
		}
		up.size, up.data = n, buf.Bytes()
		if n > MaxBytes {
			rest, err := io.Copy(io.Discard, part)
			if err != nil {
				return nil, err
			}
			up.size, up.data = n+rest, nil
		}
	}
}

// newAsset validates the file and builds the asset to store.
func (s *Server) newAsset(rtype string, up *upload) (*Asset, *apiError) {
	switch {
	case !up.hasFile:
		return nil, &apiError{http.StatusBadRequest, "Missing required parameter - file"}
	case up.size > MaxBytes:
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("File size too large. Got %d. Maximum is %d.", up.size, MaxBytes)}
	case up.size == 0:
		return nil, &apiError{http.StatusBadRequest, "Empty file"}
	}
	if rtype == "auto" {
		// The SDK always posts to auto/upload; it carries the caller's
		// resource_type as a form field, which the fake honours.
		rtype = up.params.Get("resource_type")
		if rtype != "image" && rtype != "raw" {
			rtype = "raw"
			if imageFormat(up.data) != "" {
				rtype = "image"
			}
		}
	}
	a := &Asset{
		PublicID:     up.params.Get("public_id"),
		ResourceType: rtype,
		Type:         up.params.Get("type"),
		Version:      s.cfg.Now().Unix(),
		Data:         up.data,
	}
	if a.Type == "" {
		a.Type = "upload"
	}
	if a.PublicID == "" {
		a.PublicID = randomID()
	}
	switch rtype {
	case "raw":
	case "image":
		if a.Format = imageFormat(up.data); a.Format == "" {
			return nil, &apiError{http.StatusBadRequest, "Invalid image file"}
		}
	default:
		return nil, &apiError{http.StatusBadRequest, "Invalid resource type " + rtype}
	}
	return a, nil
}

func overwrite(params url.Values) bool {
	v := params.Get("overwrite")
	return v != "false" && v != "0"
}

// imageFormat returns Cloudinary's format name for image bytes, or "".
func imageFormat(data []byte) string {
	switch http.DetectContentType(data) {
	case "image/png":
		return "png"
	case "image/jpeg":
		return "jpg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return ""
}

// response builds the upload response's documented fields.
func (s *Server) response(a *Asset, filename string) map[string]any {
	sum := md5.Sum(a.Data)
	file := a.PublicID
	if a.Format != "" {
		file += "." + a.Format
	}
	deliveryPath := fmt.Sprintf("/%s/%s/%s/", s.cfg.CloudName, a.ResourceType, a.Type)
	if a.Type == "authenticated" {
		deliveryPath += DeliverySignature(file, s.cfg.APISecret, s.cfg.SignatureAlgorithm) + "/"
	}
	deliveryPath += fmt.Sprintf("v%d/%s", a.Version, file)
	base := s.base
	res := map[string]any{
		"public_id":         a.PublicID,
		"version":           a.Version,
		"signature":         Sign(fmt.Sprintf("public_id=%s&version=%d", a.PublicID, a.Version), s.cfg.APISecret, s.cfg.SignatureAlgorithm),
		"resource_type":     a.ResourceType,
		"bytes":             len(a.Data),
		"type":              a.Type,
		"etag":              hex.EncodeToString(sum[:]),
		"url":               base + deliveryPath,
		"secure_url":        base + deliveryPath,
		"original_filename": strings.TrimSuffix(filename, path.Ext(filename)),
		"created_at":        time.Unix(a.Version, 0).UTC().Format(time.RFC3339),
	}
	if a.ResourceType == "image" {
		res["format"] = a.Format
		res["pages"] = 1
		if c, _, err := image.DecodeConfig(bytes.NewReader(a.Data)); err == nil {
			res["width"], res["height"] = c.Width, c.Height
		}
	}
	return res
}

func randomID() string {
	var b [10]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
