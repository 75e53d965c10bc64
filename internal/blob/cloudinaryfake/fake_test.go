package cloudinaryfake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/blob/cloudinaryfake"
)

// The vectors of shared/INTEGRATIONS.md.
func TestUploadSignatureVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		params url.Values
		want   string // string to sign
		sha1   string
	}{
		{
			params: url.Values{"public_id": {"sample_image"}, "timestamp": {"1315060510"}},
			want:   "public_id=sample_image&timestamp=1315060510",
			sha1:   "b4ad47fb4e25c7bf5f92a20089f9db59bc302313",
		},
		{ // indexed arrays as the SDK sends them, and the unsigned parameters
			params: url.Values{"public_id": {"tickets/42/report.pdf"}, "tags[0]": {"ticket-42"}, "tags[1]": {"private"},
				"timestamp": {"1315060510"}, "type": {"authenticated"}, "file": {"x"}, "cloud_name": {"demo"},
				"resource_type": {"raw"}, "api_key": {"k"}, "signature": {"s"}},
			want: "public_id=tickets/42/report.pdf&tags=ticket-42,private&timestamp=1315060510&type=authenticated",
			sha1: "1976be7a6108c4ec1c8f6c5b196134df4db38659",
		},
		{ // repeated values are an array too
			params: url.Values{"public_id": {"tickets/42/report.pdf"}, "tags": {"ticket-42", "private"},
				"timestamp": {"1315060510"}, "type": {"authenticated"}},
			want: "public_id=tickets/42/report.pdf&tags=ticket-42,private&timestamp=1315060510&type=authenticated",
			sha1: "1976be7a6108c4ec1c8f6c5b196134df4db38659",
		},
	}
	for _, tt := range tests {
		if got := cloudinaryfake.StringToSign(tt.params); got != tt.want {
			t.Errorf("StringToSign = %q, want %q", got, tt.want)
		}
		if got := cloudinaryfake.SignParams(tt.params, "abcd", "sha1"); got != tt.sha1 {
			t.Errorf("SignParams(%q) = %s, want %s", tt.want, got, tt.sha1)
		}
		if got := cloudinaryfake.Sign(tt.want, "abcd", ""); got != tt.sha1 {
			t.Errorf("Sign default algorithm = %s, want SHA-1 %s", got, tt.sha1)
		}
	}
}

func TestSignSHA256(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("public_id=sample_image&timestamp=1315060510abcd"))
	if got := cloudinaryfake.Sign("public_id=sample_image&timestamp=1315060510", "abcd", "sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("Sign sha256 = %s, want %x", got, sum)
	}
}

func TestStringToSignEscapesAmpersand(t *testing.T) {
	t.Parallel()
	got := cloudinaryfake.StringToSign(url.Values{"context": {"a=1&b=2"}, "timestamp": {"1"}})
	if want := "context=a=1%26b=2&timestamp=1"; got != want {
		t.Errorf("StringToSign = %q, want %q", got, want)
	}
}

func TestDeliverySignatureVector(t *testing.T) {
	t.Parallel()
	if got := cloudinaryfake.DeliverySignature("c_crop,h_20,w_10/image.jpg", "b", "sha1"); got != "s--Ai4Znfl3--" {
		t.Errorf("DeliverySignature = %s, want s--Ai4Znfl3--", got)
	}
}

// client signs and sends requests to a fake the way the SDK does.
type client struct {
	t   *testing.T
	srv *cloudinaryfake.Server
	cfg cloudinaryfake.Config
	now time.Time
}

func newClient(t *testing.T, cfg cloudinaryfake.Config) *client {
	t.Parallel()
	srv := cloudinaryfake.Start(t, cfg)
	return &client{t: t, srv: srv, cfg: srv.Config(), now: time.Now()}
}

// signed returns params with timestamp, api_key and signature added.
func (c *client) signed(params url.Values) url.Values {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	if p.Get("timestamp") == "" {
		p.Set("timestamp", strconv.FormatInt(c.now.Unix(), 10))
	}
	algo := c.cfg.SignatureAlgorithm
	if p.Get("signature_algorithm") != "" {
		algo = p.Get("signature_algorithm")
	}
	p.Set("signature", cloudinaryfake.SignParams(p, c.cfg.APISecret, algo))
	p.Set("api_key", c.cfg.APIKey)
	return p
}

// upload streams a multipart upload of file and returns the status and JSON.
func (c *client) upload(params url.Values, file io.Reader) (int, map[string]any) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, vs := range params {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		fw, err := mw.CreateFormFile("file", "file")
		if err == nil {
			_, err = io.Copy(fw, file)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	resp, err := http.Post(c.srv.URL()+"/v1_1/"+c.cfg.CloudName+"/auto/upload", mw.FormDataContentType(), pr)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func (c *client) destroy(params url.Values) (int, map[string]any) {
	// No Content-Type, like the SDK.
	req, _ := http.NewRequest("POST", c.srv.URL()+"/v1_1/"+c.cfg.CloudName+"/raw/destroy", strings.NewReader(params.Encode()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func (c *client) get(path string) (int, []byte) {
	resp, err := http.Get(c.srv.URL() + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

func errMessage(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

var rawParams = url.Values{"public_id": {"2024/05/report.pdf"}, "type": {"authenticated"}, "resource_type": {"raw"}}

func TestUploadDeliverDestroy(t *testing.T) {
	c := newClient(t, cloudinaryfake.Config{})
	body := []byte("%PDF-1.4 not really")
	status, res := c.upload(c.signed(rawParams), bytes.NewReader(body))
	if status != 200 {
		t.Fatalf("upload: %d %v", status, res)
	}
	for k, want := range map[string]any{"public_id": "2024/05/report.pdf", "resource_type": "raw", "type": "authenticated", "bytes": float64(len(body))} {
		if res[k] != want {
			t.Errorf("response %s = %v, want %v", k, res[k], want)
		}
	}
	for _, k := range []string{"version", "signature", "etag", "url", "secure_url", "created_at", "original_filename"} {
		if _, ok := res[k]; !ok {
			t.Errorf("response lacks %s", k)
		}
	}
	if _, ok := res["format"]; ok {
		t.Errorf("raw upload has a format: %v", res["format"])
	}

	sig := cloudinaryfake.DeliverySignature("2024/05/report.pdf", c.cfg.APISecret, "sha1")
	path := "/" + c.cfg.CloudName + "/raw/authenticated/" + sig + "/v1/2024/05/report.pdf"
	if status, got := c.get(path); status != 200 || !bytes.Equal(got, body) {
		t.Errorf("delivery: %d %q", status, got)
	}
	if status, _ := c.get(strings.Replace(path, "/v1/", "/", 1)); status != 200 {
		t.Errorf("delivery without version: %d", status)
	}
	tampered := strings.Replace(path, sig, "s--AAAAAAAA--", 1)
	if status, _ := c.get(tampered); status != 401 {
		t.Errorf("delivery with a wrong signature: %d, want 401", status)
	}
	if status, _ := c.get(strings.Replace(path, "/authenticated/"+sig, "/authenticated", 1)); status != 401 {
		t.Errorf("delivery without signature: %d, want 401", status)
	}
	missingSig := cloudinaryfake.DeliverySignature("2024/05/missing.pdf", c.cfg.APISecret, "sha1")
	if status, _ := c.get("/" + c.cfg.CloudName + "/raw/authenticated/" + missingSig + "/v1/2024/05/missing.pdf"); status != 404 {
		t.Errorf("delivery of a missing asset: %d, want 404", status)
	}

	del := url.Values{"public_id": {"2024/05/report.pdf"}, "type": {"authenticated"}, "invalidate": {"true"}}
	bad := c.signed(del)
	bad.Set("public_id", "2024/05/other.pdf")
	if status, res := c.destroy(bad); status != 401 || !strings.HasPrefix(errMessage(res), "Invalid Signature") {
		t.Errorf("destroy with a tampered parameter: %d %v", status, res)
	}
	for _, want := range []string{"ok", "not found"} {
		if status, res := c.destroy(c.signed(del)); status != 200 || res["result"] != want {
			t.Errorf("destroy: %d %v, want result %q", status, res, want)
		}
	}
	if c.srv.Len() != 0 {
		t.Errorf("%d assets left", c.srv.Len())
	}
}

func TestUploadRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        cloudinaryfake.Config
		params     func(c *client) url.Values
		file       io.Reader
		wantStatus int
		wantPrefix string
	}{{
		name: "tampered signature",
		params: func(c *client) url.Values {
			p := c.signed(rawParams)
			p.Set("public_id", "2024/05/other.pdf")
			return p
		},
		wantStatus: 401, wantPrefix: "Invalid Signature",
	}, {
		name: "signature with another secret",
		params: func(c *client) url.Values {
			p := c.signed(rawParams)
			p.Set("signature", cloudinaryfake.SignParams(p, "not-the-secret", "sha1"))
			return p
		},
		wantStatus: 401, wantPrefix: "Invalid Signature",
	}, {
		name: "wrong api_key",
		params: func(c *client) url.Values {
			p := c.signed(rawParams)
			p.Set("api_key", "999")
			return p
		},
		wantStatus: 401, wantPrefix: "Unknown API key",
	}, {
		name: "stale timestamp",
		params: func(c *client) url.Values {
			p := url.Values{"timestamp": {strconv.FormatInt(c.now.Add(-61*time.Minute).Unix(), 10)}}
			for k, v := range rawParams {
				p[k] = v
			}
			return c.signed(p)
		},
		wantStatus: 400, wantPrefix: "Stale request",
	}, {
		name:       "oversize file",
		params:     func(c *client) url.Values { return c.signed(rawParams) },
		file:       io.LimitReader(zeros{}, cloudinaryfake.MaxBytes+1),
		wantStatus: 400, wantPrefix: fmt.Sprintf("File size too large. Got %d. Maximum is 10485760.", cloudinaryfake.MaxBytes+1),
	}, {
		name:       "empty file",
		params:     func(c *client) url.Values { return c.signed(rawParams) },
		file:       strings.NewReader(""),
		wantStatus: 400, wantPrefix: "Empty file",
	}, {
		name: "sha1 signature when the request says sha256",
		params: func(c *client) url.Values {
			p := c.signed(rawParams)
			p.Set("signature_algorithm", "sha256")
			return p
		},
		wantStatus: 401, wantPrefix: "Invalid Signature",
	}, {
		name: "sha1 signature on a sha256 account",
		cfg:  cloudinaryfake.Config{SignatureAlgorithm: "sha256"},
		params: func(c *client) url.Values {
			c.cfg.SignatureAlgorithm = "sha1"
			return c.signed(rawParams)
		},
		wantStatus: 401, wantPrefix: "Invalid Signature",
	}, {
		name: "image that is not an image",
		params: func(c *client) url.Values {
			return c.signed(url.Values{"public_id": {"x"}, "resource_type": {"image"}})
		},
		wantStatus: 400, wantPrefix: "Invalid image file",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.cfg)
			file := tt.file
			if file == nil {
				file = strings.NewReader("some bytes")
			}
			status, res := c.upload(tt.params(c), file)
			if status != tt.wantStatus || !strings.HasPrefix(errMessage(res), tt.wantPrefix) {
				t.Errorf("got %d %v, want %d %q…", status, res, tt.wantStatus, tt.wantPrefix)
			}
			if c.srv.Len() != 0 {
				t.Errorf("a rejected upload was stored")
			}
		})
	}
}

func TestUploadSHA256(t *testing.T) {
	for _, cfg := range []cloudinaryfake.Config{{SignatureAlgorithm: "sha256"}, {}} {
		t.Run("account "+cfg.SignatureAlgorithm, func(t *testing.T) {
			c := newClient(t, cfg)
			p := url.Values{"signature_algorithm": {"sha256"}}
			for k, v := range rawParams {
				p[k] = v
			}
			if status, res := c.upload(c.signed(p), strings.NewReader("x")); status != 200 {
				t.Errorf("sha256-signed upload: %d %v", status, res)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
