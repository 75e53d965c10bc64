package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium through chromedp. One browser
// serves every test in the package; each test gets its own tab in its own
// browser context (separate cookies) and its own server and database.

// chromiumPath is where Debian installs Chromium; $TICKETFLOW_CHROMIUM
// overrides it.
func chromiumPath() string {
	if p := os.Getenv("TICKETFLOW_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// startBrowser starts headless Chromium for the test and its subtests. A
// missing browser skips the test locally and fails it in CI ($CI set).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium not found at %s (install it with apt-get install -y chromium): %v", path, err)
		}
		t.Skipf("Chromium not found at %s; install it with apt-get install -y chromium to run the browser tests", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// tab is one browser tab with its own cookies.
type tab struct {
	t       *testing.T
	ctx     context.Context
	browser context.Context
	base    string

	mu      sync.Mutex
	dialogs []string // messages of the confirm dialogs, all accepted
}

// newTab opens a tab for base (the server's URL). With noJS the tab runs
// no script at all.
func newTab(t *testing.T, browser context.Context, base string, noJS bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	if noJS {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(tcancel)
	tb := &tab{t: t, ctx: tctx, browser: browser, base: base}
	dialogs := chromedp.Events(tctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, ev.Message)
			tb.mu.Unlock()
			_, _ = chromedp.Call(tctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return tb
}

// open navigates to a path on the server and returns the HTTP status.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// click clicks the element and waits for the page that follows; it returns
// that page's HTTP status.
func (b *tab) click(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

// do runs actions that return nothing.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// set fills the fields: CSS selector → value.
func (b *tab) set(fields ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(fields); i += 2 {
		b.do(chromedp.SetValue(chromedp.CSS(fields[i]), fields[i+1]))
	}
}

// js evaluates an expression (evaluation bypasses the page's CSP).
func js[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns the text of the first element matching sel ("" if none).
func (b *tab) text(sel string) string {
	b.t.Helper()
	return js[string](b, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
}

// path returns the current path and query.
func (b *tab) path() string {
	b.t.Helper()
	return js[string](b, `location.pathname + location.search`)
}

// waitFor waits until the expression is true (Chromium's own polling
// helper uses new Function, which the pages' CSP forbids).
func (b *tab) waitFor(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited in vain for %s (last error %v) on %s", expr, err, b.path())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signIn uses the sign-in form and expects to land on want.
func (b *tab) signIn(login, password, want string) {
	b.t.Helper()
	if !strings.HasPrefix(b.path(), "/login") {
		b.open("/login")
	}
	b.set("#login", login, "#password", password)
	if st := b.click(`form[action="/login"] button[type=submit]`); st != 200 {
		b.t.Fatalf("sign in as %s: status %d on %s: %s", login, st, b.path(), b.text("main"))
	}
	if got := js[string](b, `location.pathname`); got != want {
		b.t.Fatalf("signed in as %s: on %s, want %s (%s)", login, got, want, b.text("main"))
	}
}

// pdfViewer is the origin of Chromium's built-in PDF viewer extension.
const pdfViewer = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"

// pdfViewerShows reports whether Chromium's PDF viewer, inside this tab,
// shows the file of the preview frame for filename: the viewer is an
// extension frame in the tab, and the document it renders is a frame
// within it at the preview's address.
// It reads the browser's target list instead of attaching to the viewer's
// frame: attaching a chromedp context to a live frame races inside
// chromedp (its DOM walk and its event loop share a map), which the race
// detector reports.
func (b *tab) pdfViewerShows(filename string) bool {
	b.t.Helper()
	src := js[string](b, fmt.Sprintf(`(document.querySelector('iframe[title=%q]')||{}).src||""`, filename+" (PDF preview)"))
	if src == "" {
		b.t.Errorf("no preview frame for %s", filename)
		return false
	}
	me := string(chromedp.FromContext(b.ctx).Target.TargetID)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		parent, url := map[string]string{}, map[string]string{}
		for _, ti := range infos {
			parent[string(ti.TargetID)], url[string(ti.TargetID)] = string(ti.ParentID), ti.URL
		}
		inTab := func(id string) bool {
			for id != "" && id != me {
				id = parent[id]
			}
			return id == me
		}
		for _, ti := range infos {
			viewer := string(ti.ParentID)
			if ti.Type == "iframe" && ti.URL == src && strings.HasPrefix(url[viewer], pdfViewer) && inTab(viewer) {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// dark switches the tab's prefers-color-scheme.
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	if err != nil {
		b.t.Fatal(err)
	}
}

// cookie returns the named cookie of the tab's browser context.
func (b *tab) cookie(name string) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Test files.

// pngImage returns a real, decodable PNG.
func pngImage() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for x := 0; x < 48; x++ {
		for y := 0; y < 32; y++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 5), G: 90, B: uint8(y * 7), A: 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// pdfDocument returns a valid one-page PDF showing text.
func pdfDocument(text string) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	content := "BT /F1 24 Tf 30 100 Td (" + text + ") Tj ET"
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// writeFile writes content to a new file named name and returns its path.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tawkStub stands in for embed.tawk.to: the widget script it serves
// records, in the page and in sessionStorage (which survives navigation),
// the Tawk_API.visitor it found and the API calls made to it.
type tawkStub struct {
	URL   string
	mu    sync.Mutex
	paths []string
}

const tawkStubScript = `(function () {
	var api = window.Tawk_API = window.Tawk_API || {};
	function log(entry) {
		var all = JSON.parse(sessionStorage.getItem("tawkStub") || "[]");
		all.push(entry);
		sessionStorage.setItem("tawkStub", JSON.stringify(all));
	}
	var visitor = api.visitor ? JSON.parse(JSON.stringify(api.visitor)) : null;
	window.__tawkStub = { visitor: visitor, loadStart: !!window.Tawk_LoadStart };
	log({ event: "load", page: location.pathname, visitor: visitor });
	api.endChat = function () { log({ event: "endChat", page: location.pathname }); };
	api.logout = function (cb) { log({ event: "logout", page: location.pathname }); if (cb) { cb(); } };
	if (typeof api.onLoad === "function") { api.onLoad(); }
})();`

func newTawkStub(t *testing.T) *tawkStub {
	t.Helper()
	s := &tawkStub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte(tawkStubScript))
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *tawkStub) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// shot saves a full-page screenshot as $TICKETFLOW_SCREENSHOTS/name.png
// when that variable is set (for looking at the pages; nothing is
// asserted).
func (b *tab) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("TICKETFLOW_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
