package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/web/webtest"
)

// browserless is a cookie-keeping HTTP client for page tests: it behaves
// like a browser without JavaScript, but does not follow redirects.
type browserless struct {
	t *testing.T
	e *webtest.Env
	c *http.Client
}

func newBrowserless(t *testing.T, e *webtest.Env) *browserless {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// pageResp is a finished page request.
type pageResp struct {
	Status int
	Header http.Header
	Body   string
}

func (p *pageResp) location() string { return p.Header.Get("Location") }

func (b *browserless) do(req *http.Request) *pageResp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &pageResp{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browserless) get(path string, hdr ...string) *pageResp {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// post sends a urlencoded form.
func (b *browserless) post(path string, form url.Values, hdr ...string) *pageResp {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// postRaw sends body as is with the given Content-Type.
func (b *browserless) postRaw(path, body, contentType string) *pageResp {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return b.do(req)
}

// postMultipart sends fields in order (name, value pairs; a name starting
// with "@" is a file whose value is "filename:content").
func (b *browserless) postMultipart(path string, fields ...string) *pageResp {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if name, ok := strings.CutPrefix(fields[i], "@"); ok {
			fn, content, _ := strings.Cut(fields[i+1], ":")
			fw, _ := w.CreateFormFile(name, fn)
			_, _ = fw.Write([]byte(content))
			continue
		}
		_ = w.WriteField(fields[i], fields[i+1])
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", b.e.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// token returns the CSRF token of the first form on the page.
func (p *pageResp) token(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil || m[1] == "" {
		t.Fatalf("no CSRF token on the page:\n%s", p.Body)
	}
	return m[1]
}

// signIn signs in through the form and returns the session's CSRF token.
func (b *browserless) signIn(login, password string) string {
	b.t.Helper()
	tok := b.get("/login").token(b.t)
	r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d\n%s", login, r.Status, r.Body)
	}
	return b.get("/tickets/new").token(b.t)
}

// cookie returns the named cookie the client holds for the server.
func (b *browserless) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var formRE = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)

// postForms returns, for every POST form on the page, its action and
// whether its first field is a non-empty csrf_token.
func postForms(body string) map[string]bool {
	out := map[string]bool{}
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], `method="post"`) {
			continue
		}
		action := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(m[1])
		first := regexp.MustCompile(`<input[^>]*>`).FindString(m[2])
		ok := strings.Contains(first, `name="csrf_token"`) && strings.Contains(first, `type="hidden"`) && !strings.Contains(first, `value=""`)
		key := ""
		if action != nil {
			key = action[1]
		}
		out[key] = out[key] || ok
		if !ok {
			out[key] = false
		}
	}
	return out
}
