package web_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
	"ticketflow/internal/store/storetest"
	"ticketflow/internal/web"
	"ticketflow/internal/web/webtest"
)

// TestBrowser runs every UI flow in real Chromium against a real server on
// SQLite. The subtests share one browser and run in parallel tabs.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	stub := newTawkStub(t)
	server := func(t *testing.T, opt webtest.Options) *webtest.Env {
		if opt.App.MaxUploadBytes == 0 {
			opt.App.MaxUploadBytes = 1 << 20
		}
		return webtest.New(t, storetest.SQLite(t), opt)
	}
	ctx := context.Background()

	t.Run("UserJourney", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{})
		other := e.CreateUser(t, "olga", desk.RoleUser)
		secret, err := e.Svc.CreateTicket(ctx, other.User, desk.NewTicket{Title: "Olga's payroll question", Description: "private", Category: "Financial"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := newTab(t, browser, e.URL, false)

		// Anonymous: / leads to sign-in; a protected page comes back after it.
		b.open("/")
		if p := b.path(); p != "/login" {
			t.Fatalf("/ → %s, want /login", p)
		}
		b.open("/tickets/new")
		if p := b.path(); p != "/login?next=%2Ftickets%2Fnew" {
			t.Fatalf("protected page → %s", p)
		}
		// Register from the link on the sign-in page.
		b.click(`a[href="/register"]`)
		b.shot("register")
		b.set("#email", "nina@example.com", "#username", "nina", "#password", "Correct-Horse-42", "#password2", "Correct-Horse-42")
		b.click(`form[action="/register"] button[type=submit]`)
		if p := b.path(); p != "/tickets?msg=registered" || !strings.Contains(b.text(".flash"), "Welcome") {
			t.Fatalf("after registering: %s %q", p, b.text("main"))
		}
		if c := b.cookie("tf_session"); c == nil || !c.HTTPOnly || c.SameSite != "Lax" || c.Path != "/" || c.Expires <= 0 {
			t.Fatalf("session cookie: %+v", c)
		}
		if strings.Contains(b.text("main"), "Olga") {
			t.Fatal("a user sees another user's ticket in their list")
		}

		// New ticket with an image and a PDF, sent by the JavaScript upload.
		img := writeFile(t, "screen shot.png", pngImage())
		pdf := writeFile(t, "report.pdf", pdfDocument("Quarterly report"))
		b.click(`a[href="/tickets/new"].btn-primary`)
		b.set("#title", "Printer on floor 3 jams", "#category", "Technical", "#priority", "High",
			"#description", "It jams on every second page.\nSee the photo.")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#attachment"), []string{img, pdf}))
		b.click(`form[data-upload] button[type=submit]`)
		if js[string](b, `location.pathname`) == "/tickets/new" {
			t.Fatalf("still on the form: %s", b.text("main"))
		}
		id := strings.TrimPrefix(js[string](b, `location.pathname`), "/tickets/")
		if _, err := strconv.Atoi(id); err != nil || !strings.Contains(b.text(".flash"), "created") {
			t.Fatalf("after submit: %s %q", b.path(), b.text("main"))
		}
		if got := b.text("h1"); got != "Printer on floor 3 jams" {
			t.Fatalf("title %q", got)
		}
		if got := b.text(`[data-testid=status]`); got != "New" {
			t.Fatalf("status badge %q", got)
		}
		for _, want := range []string{"Technical", "High", "nina", "It jams on every second page.\nSee the photo.", "screen shot.png", "report.pdf"} {
			if !strings.Contains(b.text("main"), want) {
				t.Errorf("ticket page lacks %q", want)
			}
		}
		b.waitFor(`(() => { const i = document.querySelector(".thumb img"); return !!i && i.complete && i.naturalWidth === 48 && i.getBoundingClientRect().width > 0 })()`)
		if !b.pdfViewerShows("report.pdf") {
			t.Error("the PDF is not shown in Chromium's PDF viewer")
		}
		b.shot("ticket-user")
		if n := js[int](b, `document.querySelectorAll('a[download][href$="/download"]').length`); n != 2 {
			t.Errorf("%d download links, want 2", n)
		}
		if js[bool](b, `!!document.querySelector('form[action$="/status"]')`) {
			t.Error("a user is offered the status form")
		}
		if !strings.Contains(b.text(".timeline"), "Created as New") {
			t.Errorf("history: %q", b.text(".timeline"))
		}

		// The client-side size check stops a too-large file before sending.
		big := writeFile(t, "huge.zip", make([]byte, 1<<20+1))
		b.open("/tickets/new")
		b.set("#title", "Too big", "#category", "Product", "#description", "x")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#attachment"), []string{big}))
		b.do(chromedp.Click(chromedp.CSS(`form[data-upload] button[type=submit]`)))
		b.waitFor(`!document.getElementById("attachment-error").hidden`)
		if msg := b.text("#attachment-error"); !strings.Contains(msg, "huge.zip") || !strings.Contains(msg, "at most 1 MB") {
			t.Errorf("size error %q", msg)
		}
		b.shot("new-ticket-too-large")
		if p := b.path(); p != "/tickets/new" || js[string](b, `document.getElementById("title").value`) != "Too big" {
			t.Errorf("the form was sent or lost: %s", p)
		}

		// Lists: filters, search, sort and pages over the user's own tickets.
		for i := range 22 {
			cat := []string{"Technical", "Financial", "Product"}[i%3]
			if _, err := e.Svc.CreateTicket(ctx, userByName(t, e, "nina"), desk.NewTicket{Title: fmt.Sprintf("Batch %02d %s", i, strings.ToLower(cat)),
				Description: "d", Category: cat}, nil); err != nil {
				t.Fatal(err)
			}
		}
		b.open("/tickets")
		if got := b.text("#ticket-count"); got != "23 tickets" {
			t.Fatalf("count %q", got)
		}
		b.shot("list-user")
		if n := js[int](b, `document.querySelectorAll("table.tickets tbody tr").length`); n != 20 {
			t.Fatalf("%d rows on page 1", n)
		}
		if js[bool](b, `[...document.querySelectorAll("th")].some(th => th.textContent === "Created by")`) {
			t.Error("users see a Created by column")
		}
		b.click(`a[rel=next]`)
		if p := b.path(); p != "/tickets?page=2" || js[int](b, `document.querySelectorAll("table.tickets tbody tr").length`) != 3 {
			t.Fatalf("page 2: %s", p)
		}
		b.open("/tickets")
		b.set("#category", "Financial", "#ordering", "created_at")
		b.click(`form.filters button[type=submit]`)
		titles := js[[]string](b, `[...document.querySelectorAll("td.title-cell a")].map(a => a.textContent)`)
		if len(titles) != 7 || titles[0] != "Batch 01 financial" || !strings.Contains(b.path(), "category=Financial") {
			t.Fatalf("Financial, oldest first: %v", titles)
		}
		b.set("#search", "printer", "#category", "", "#ordering", "")
		b.click(`form.filters button[type=submit]`)
		titles = js[[]string](b, `[...document.querySelectorAll("td.title-cell a")].map(a => a.textContent)`)
		if !slices.Equal(titles, []string{"Printer on floor 3 jams"}) {
			t.Fatalf("search: %v", titles)
		}

		// Someone else's ticket is a 404 page; an admin page is a 403 page.
		if st := b.open(fmt.Sprintf("/tickets/%d", secret.ID)); st != 404 || !strings.Contains(b.text("h1"), "not found") {
			t.Fatalf("another user's ticket: %d %q", st, b.text("main"))
		}
		if strings.Contains(b.text("main"), "payroll") {
			t.Fatal("the 404 page discloses the ticket")
		}
		if st := b.open("/admin/users"); st != 403 {
			t.Fatalf("admin page as user: %d", st)
		}
		if st := b.open("/no/such/page"); st != 404 || !strings.Contains(b.text("h1"), "Page not found") {
			t.Fatalf("unknown page: %d %q", st, b.text("h1"))
		}

		// Sign out.
		b.click(`form[data-logout] button`)
		if p := b.path(); !strings.HasPrefix(p, "/login") || !strings.Contains(b.text(".flash"), "signed out") {
			t.Fatalf("after sign-out: %s", p)
		}
		if b.cookie("tf_session") != nil {
			t.Error("the session cookie survived sign-out")
		}
		b.open("/tickets")
		if p := b.path(); !strings.HasPrefix(p, "/login") {
			t.Fatalf("signed out, /tickets → %s", p)
		}
	})

	t.Run("AdminJourney", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{})
		root := e.CreateUser(t, "root", desk.RoleAdmin)
		jane := e.CreateUser(t, "jane", desk.RoleUser)
		carl := e.CreateUser(t, "carl", desk.RoleUser)
		tk, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: "VPN drops", Description: "Every hour.", Category: "Technical"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := newTab(t, browser, e.URL, false)

		b.open("/admin/users")
		b.signIn("root@example.com", root.Password, "/admin/users")

		// The last-admin rule, as a clear message.
		b.set(fmt.Sprintf("#role-%d", root.ID), "user")
		if st := b.click(fmt.Sprintf(`#user-%d form:has(select) button`, root.ID)); st != 409 {
			t.Fatalf("demoting the last admin: %d", st)
		}
		if msg := b.text("#users-error"); !strings.Contains(msg, "last active admin") {
			t.Fatalf("last-admin message %q", msg)
		}
		b.shot("users-last-admin")
		// Promote jane; deactivate carl (after a confirmation), reactivate him.
		b.set(fmt.Sprintf("#role-%d", jane.ID), "admin")
		b.click(fmt.Sprintf(`#user-%d form:has(select) button`, jane.ID))
		if !strings.Contains(b.text(".flash"), "updated") {
			t.Fatalf("after promoting: %q", b.text("main"))
		}
		if u, _ := e.DB.UserByID(ctx, jane.ID); u.Role != desk.RoleAdmin {
			t.Fatalf("jane is %s", u.Role)
		}
		b.click(fmt.Sprintf(`#user-%d .btn-danger`, carl.ID))
		b.mu.Lock()
		dialogs := slices.Clone(b.dialogs)
		b.mu.Unlock()
		if len(dialogs) != 1 || !strings.Contains(dialogs[0], "Deactivate carl") {
			t.Fatalf("confirm dialogs: %q", dialogs)
		}
		if u, _ := e.DB.UserByID(ctx, carl.ID); u.Active {
			t.Fatal("carl is still active")
		}
		if !strings.Contains(b.text(fmt.Sprintf("#user-%d", carl.ID)), "Deactivated") {
			t.Fatal("the list does not show carl deactivated")
		}
		b.click(fmt.Sprintf(`#user-%d form:not(:has(select)) button`, carl.ID))
		if u, _ := e.DB.UserByID(ctx, carl.ID); !u.Active {
			t.Fatal("carl was not reactivated")
		}

		// Admins see everyone's tickets with the creator's name.
		b.open("/tickets")
		if !strings.Contains(b.text("h1"), "All tickets") || !strings.Contains(b.text("table.tickets"), "jane") {
			t.Fatalf("admin list: %q", b.text("main"))
		}
		// Status change with a note, then the timeline.
		b.click(fmt.Sprintf(`a[href="/tickets/%d"]`, tk.ID))
		b.set("#new-status", "Under Review", "#note", "Looking at the <b>router</b> logs.")
		b.click(`form.status-form button[type=submit]`)
		if got := b.text(`[data-testid=status]`); got != "Under Review" || !strings.Contains(b.text(".flash"), "status was changed") {
			t.Fatalf("after the status change: %q %q", got, b.text("main"))
		}
		if n := js[int](b, `document.querySelectorAll(".timeline li").length`); n != 2 {
			t.Fatalf("%d history entries", n)
		}
		if got := b.text(".timeline .note"); got != "Looking at the <b>router</b> logs." {
			t.Fatalf("note %q", got)
		}
		b.shot("ticket-admin")
		if !strings.Contains(b.text(".timeline"), "by root") {
			t.Errorf("timeline: %q", b.text(".timeline"))
		}
		// A transition the rules forbid comes back as a message next to
		// the field (Resolved → New is not allowed).
		b.set("#new-status", "Resolved")
		b.click(`form.status-form button[type=submit]`)
		opts := js[[]string](b, `[...document.querySelectorAll("#new-status option")].map(o => o.value)`)
		if !slices.Equal(opts, []string{"Under Review"}) {
			t.Fatalf("a resolved ticket offers %v", opts)
		}
	})

	t.Run("WithoutJavaScript", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{})
		jane := e.CreateUser(t, "jane", desk.RoleUser)
		b := newTab(t, browser, e.URL, true)
		b.open("/tickets/new")
		b.signIn("jane", jane.Password, "/tickets/new")
		if js[bool](b, `document.documentElement.classList.contains("js")`) {
			t.Fatal("scripts ran in the no-JavaScript tab")
		}
		// A blank title (spaces pass the browser's required check) comes
		// back with the error next to the field and the text kept.
		b.set("#title", "   ", "#category", "Financial", "#description", "Refund for order 1234")
		if st := b.click(`form[data-upload] button[type=submit]`); st != 400 {
			t.Fatalf("invalid form: %d", st)
		}
		if got := b.text("#title-error"); !strings.Contains(got, "required") {
			t.Fatalf("title error %q", got)
		}
		b.shot("new-ticket-nojs-error")
		if js[string](b, `document.getElementById("description").value`) != "Refund for order 1234" ||
			js[string](b, `document.getElementById("category").value`) != "Financial" {
			t.Fatal("the user's input was not kept")
		}
		// The plain multipart POST with a file, then post/redirect/get.
		b.set("#title", "Refund")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#attachment"), []string{writeFile(t, "invoice.pdf", pdfDocument("Invoice"))}))
		if st := b.click(`form[data-upload] button[type=submit]`); st != 200 {
			t.Fatalf("submit: %d", st)
		}
		if !strings.HasPrefix(b.path(), "/tickets/") || b.text("h1") != "Refund" || !strings.Contains(b.text(".attachments"), "invoice.pdf") {
			t.Fatalf("after submit: %s %q", b.path(), b.text("main"))
		}
		// A reply with a file, posted by the plain form.
		ticketPath := js[string](b, `location.pathname`)
		b.set("#reply-body", "Any news on the refund?")
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#reply-attachment"), []string{writeFile(t, "receipt.txt", []byte("paid"))}))
		if st := b.click(`form.reply-form button[type=submit]`); st != 200 {
			t.Fatalf("reply: %d", st)
		}
		if !strings.HasPrefix(b.path(), ticketPath+"?msg=replied") || !strings.Contains(b.text("#conversation"), "Any news on the refund?") ||
			!strings.Contains(b.text("#conversation"), "receipt.txt") {
			t.Fatalf("after replying: %s %q", b.path(), b.text("main"))
		}
		// The chat launcher is a link to the chat page, whose form works;
		// with no agent online the message becomes a ticket.
		b.click(`a[data-chat-launcher]`)
		if b.path() != "/chat" || !strings.Contains(b.text("[data-chat-presence]"), "No agent is online") {
			t.Fatalf("chat page: %s %q", b.path(), b.text("main"))
		}
		b.set("#chat-body", "My monitor flickers")
		b.click(`form[action="/chat"] button[type=submit]`)
		if !strings.Contains(b.path(), "msg=chat_offline") || b.text("h1") != "Chat: My monitor flickers" {
			t.Fatalf("after the offline chat: %s %q", b.path(), b.text("main"))
		}
		// Sign out without JavaScript too.
		b.click(`form[data-logout] button`)
		if p := b.path(); !strings.HasPrefix(p, "/login") {
			t.Fatalf("after sign-out: %s", p)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{})
		root := e.CreateUser(t, "root", desk.RoleAdmin)
		tk, err := e.Svc.CreateTicket(ctx, root.User, desk.NewTicket{Title: "Keep me New", Description: "d", Category: "Product"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := newTab(t, browser, e.URL, false)
		b.signIn("root", root.Password, "/tickets")
		// A wrong token in a real form of the app.
		b.open(fmt.Sprintf("/tickets/%d", tk.ID))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('form.status-form input[name=csrf_token]').value = "forged"`))
		if st := b.click(`form.status-form button[type=submit]`); st != 403 || !strings.Contains(b.text("main"), "expired") {
			t.Fatalf("wrong token: %d %q", st, b.text("main"))
		}
		// No token at all.
		b.open(fmt.Sprintf("/tickets/%d", tk.ID))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('form.status-form input[name=csrf_token]').remove()`))
		if st := b.click(`form.status-form button[type=submit]`); st != 403 {
			t.Fatalf("no token: %d", st)
		}
		// A form on another site posting to the app (the session cookie is
		// SameSite=Lax, the origin is checked, and the token is missing).
		b.open(fmt.Sprintf("/tickets/%d", tk.ID))
		forge := fmt.Sprintf(`data:text/html,<form method=post action="%s/tickets/%d/status"><input name=status value=Resolved><button>go</button></form>`, e.URL, tk.ID)
		b.do(chromedp.Navigate(forge))
		if st := b.click("button"); st != 403 {
			t.Fatalf("cross-site form: %d", st)
		}
		// Sign-out is a POST with the token too: GET does not sign out.
		b.open("/logout")
		b.open("/tickets")
		if b.path() != "/tickets" {
			t.Fatal("GET /logout signed the user out")
		}
		if got, _ := e.Svc.Ticket(ctx, root.User, tk.ID); got.Status != desk.StatusNew {
			t.Fatalf("a forged request changed the status to %s", got.Status)
		}
	})

	t.Run("Tawk", func(t *testing.T) {
		t.Parallel()
		const property, key = "58ca8453b8a7e060cd3b1ecb", "0123456789abcdef0123456789abcdef01234567"
		e := server(t, webtest.Options{Web: web.Config{TawkPropertyID: property, TawkWidgetID: "1abcdef", TawkAPIKey: key, TawkEmbedBase: stub.URL}})
		jane := e.CreateUser(t, "jane", desk.RoleUser)
		b := newTab(t, browser, e.URL, false)

		// Signed out: the widget loads with no visitor.
		b.open("/login")
		b.waitFor(`!!window.__tawkStub`)
		if js[bool](b, `window.__tawkStub.visitor !== null`) {
			t.Fatal("a visitor was set on the sign-in page")
		}
		b.signIn("jane", jane.Password, "/tickets")
		b.waitFor(`!!window.__tawkStub`)
		type visitor struct{ Name, Email, Hash string }
		v := js[visitor](b, `window.__tawkStub.visitor`)
		if want := (visitor{"jane", "jane@example.com", web.TawkHash(key, "jane@example.com")}); v != want {
			t.Fatalf("visitor %+v, want %+v", v, want)
		}
		if !js[bool](b, `window.__tawkStub.loadStart`) {
			t.Error("Tawk_LoadStart was not set")
		}
		if !slices.Contains(stub.requested(), "/"+property+"/1abcdef") {
			t.Fatalf("widget requests: %v", stub.requested())
		}
		if strings.Contains(js[string](b, `document.documentElement.outerHTML`), key) {
			t.Fatal("the API key reached the browser")
		}
		// Sign-out ends the chat and the next page has no visitor.
		b.click(`form[data-logout] button`)
		b.waitFor(`!!window.__tawkStub`)
		type entry struct{ Event, Page string }
		log := js[[]entry](b, `JSON.parse(sessionStorage.getItem("tawkStub"))`)
		ended := 0
		for _, en := range log {
			if en.Event == "endChat" || en.Event == "logout" {
				ended++
			}
		}
		if ended < 2 || js[bool](b, `window.__tawkStub.visitor !== null`) || js[bool](b, `"visitor" in window.Tawk_API`) {
			t.Fatalf("after sign-out: log %+v, visitor %v", log, js[any](b, `window.Tawk_API.visitor`))
		}
	})

	t.Run("NoThirdPartyWithoutTawk", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{})
		jane := e.CreateUser(t, "jane", desk.RoleUser)
		b := newTab(t, browser, e.URL, false)
		b.signIn("jane", jane.Password, "/tickets")
		for _, p := range []string{"/tickets", "/tickets/new"} {
			b.open(p)
			b.waitFor(`document.documentElement.classList.contains("js")`)
			if !js[bool](b, `performance.getEntriesByType("resource").every(e => e.name.startsWith(location.origin))`) ||
				js[bool](b, `typeof window.Tawk_API !== "undefined"`) || js[int](b, `document.scripts.length`) != 2 {
				t.Fatalf("%s loads something from elsewhere: %v", p, js[[]string](b, `performance.getEntriesByType("resource").map(e => e.name)`))
			}
		}
	})

	t.Run("LiveChat", func(t *testing.T) {
		t.Parallel()
		testBrowserLiveChat(t, browser, server(t, webtest.Options{}))
	})

	t.Run("LiveTicket", func(t *testing.T) {
		t.Parallel()
		testBrowserLiveTicket(t, browser, server(t, webtest.Options{}))
	})

	t.Run("PhoneDarkKeyboard", func(t *testing.T) {
		t.Parallel()
		e := server(t, webtest.Options{App: app.Config{Registration: app.RegistrationClosed}})
		root := e.CreateUser(t, "root", desk.RoleAdmin)
		jane := e.CreateUser(t, "jane", desk.RoleUser)
		if _, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: strings.Repeat("Long title ", 12), Description: "d", Category: "Product"}, nil); err != nil {
			t.Fatal(err)
		}
		b := newTab(t, browser, e.URL, false)
		// Registration closed: no link, and the page says so.
		b.open("/login")
		if js[bool](b, `!!document.querySelector('a[href="/register"]')`) {
			t.Error("a register link is shown while registration is closed")
		}
		if st := b.open("/register"); st != 403 || js[bool](b, `!!document.querySelector("form[action='/register']")`) {
			t.Fatalf("closed registration page: %d", st)
		}
		// Keyboard: the first Tab reaches the skip link.
		b.open("/login")
		b.do(chromedp.KeyEvent("\t"))
		if js[string](b, `document.activeElement.className`) != "skip-link" {
			t.Errorf("first focus: %q", js[string](b, `document.activeElement.outerHTML`))
		}
		b.signIn("root", root.Password, "/tickets")
		// Phone width: nothing scrolls sideways.
		b.do(chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
		for _, p := range []string{"/tickets", "/tickets/new", "/admin/users", "/tickets/1", "/admin/chats", "/chat"} {
			b.open(p)
			b.shot("phone" + strings.ReplaceAll(p, "/", "-"))
			if w := js[int](b, `document.documentElement.scrollWidth`); w > 375 {
				t.Errorf("%s is %dpx wide on a 375px phone: %v", p, w, js[[]string](b, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 375).map(e => e.tagName + "." + e.className + "#" + e.id)`))
			}
		}
		// Dark mode follows the system setting.
		light := js[string](b, `getComputedStyle(document.body).backgroundColor`)
		b.colorScheme("dark")
		dark := js[string](b, `getComputedStyle(document.body).backgroundColor`)
		b.shot("phone-dark-ticket")
		b.do(chromedp.EmulateViewport(1280, 900))
		b.open("/tickets")
		b.shot("dark-list-admin")
		if light != "rgb(246, 247, 251)" || dark != "rgb(15, 18, 24)" {
			t.Errorf("background light %s, dark %s", light, dark)
		}
	})
}

// userByName loads an account from the store.
func userByName(t *testing.T, e *webtest.Env, login string) *desk.User {
	t.Helper()
	u, err := e.DB.UserByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
