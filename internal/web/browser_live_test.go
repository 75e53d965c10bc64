package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"ticketflow/internal/desk"
	"ticketflow/internal/web/webtest"
)

// The live flows need two people at once: each runs in its own tab and
// browser context (separate cookies) of the one shared browser. Nothing is
// timed: every step waits for a condition, with waitFor's guard against
// hangs.

// live opens path and waits until the page's event stream is connected,
// then marks the page so that a later check can tell it was not reloaded.
func (b *tab) live(path string) {
	b.t.Helper()
	b.open(path)
	b.mark()
}

// mark waits for the current page's event stream and marks the page.
func (b *tab) mark() {
	b.t.Helper()
	b.waitFor(`document.documentElement.getAttribute("data-live") === "open"`)
	b.do(chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
}

// notReloaded fails the test if the page marked by live has been replaced.
func (b *tab) notReloaded(what string) {
	b.t.Helper()
	if !js[bool](b, `window.__sameDocument === true`) {
		b.t.Fatalf("%s: the page was reloaded", what)
	}
}

// contains builds a waitFor expression: sel's text contains s.
func contains(sel, s string) string {
	return fmt.Sprintf(`((document.querySelector(%q)||{}).textContent||"").includes(%q)`, sel, s)
}

func testBrowserLiveChat(t *testing.T, browser context.Context, e *webtest.Env) {
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	agent := newTab(t, browser, e.URL, false)
	user := newTab(t, browser, e.URL, false)
	agent.signIn("root", root.Password, "/tickets")
	user.signIn("jane", jane.Password, "/tickets")

	// The agent waits in the inbox; the user sees that someone is there.
	agent.live("/admin/chats")
	if !strings.Contains(agent.text(".inbox-list"), "No open chats") {
		t.Fatalf("inbox: %q", agent.text(".inbox-list"))
	}
	user.live("/tickets")
	if user.text("[data-chat-launcher]") == "" || !js[bool](user, `document.getElementById("chat-panel").hidden`) {
		t.Fatal("no closed chat panel with a launcher")
	}
	// Keyboard: the launcher is a button that Space opens; Escape closes
	// the panel and gives the focus back.
	user.do(chromedp.Focus(chromedp.CSS("[data-chat-launcher]")))
	user.do(chromedp.KeyEvent(" "))
	user.waitFor(`!document.getElementById("chat-panel").hidden && document.activeElement.id === "chat-panel-body"`)
	if js[string](user, `document.querySelector("[data-chat-launcher]").getAttribute("aria-expanded")`) != "true" {
		t.Error("the launcher does not say the panel is open")
	}
	user.do(chromedp.KeyEvent(kb.Escape))
	user.waitFor(`document.getElementById("chat-panel").hidden && document.activeElement.hasAttribute("data-chat-launcher")`)
	user.do(chromedp.Click(chromedp.CSS("[data-chat-launcher]")))
	user.waitFor(`!document.getElementById("chat-panel").hidden && document.activeElement.id === "chat-panel-body"`)
	user.waitFor(contains("#chat-panel [data-chat-presence]", "An agent is online"))
	user.shot("chat-panel-online")

	// The user writes; the inbox lists the chat without a reload.
	user.do(chromedp.SendKeys(chromedp.CSS("#chat-panel-body"), "My laptop will not boot"))
	user.do(chromedp.Click(chromedp.CSS(`#chat-panel button[type=submit]`)))
	user.waitFor(contains("#chat-panel [data-chat-log]", "My laptop will not boot"))
	agent.waitFor(contains(".inbox-list", "My laptop will not boot"))
	agent.notReloaded("inbox")
	if !strings.Contains(agent.text(".inbox-list"), "jane") {
		t.Fatalf("inbox entry: %q", agent.text(".inbox-list"))
	}
	agent.waitFor(contains("[data-open-chats]", "1"))
	chats, err := e.Svc.Chats(context.Background(), root.User, "open")
	if err != nil || len(chats) != 1 {
		t.Fatalf("open chats: %v %v", chats, err)
	}
	chatID := chats[0].ID

	// The agent opens it; each side sees the other typing; the answer
	// arrives in the user's panel live.
	agent.click(fmt.Sprintf(`a[data-chat-item="%d"]`, chatID))
	agent.waitFor(`document.documentElement.getAttribute("data-live") === "open"`)
	if !strings.Contains(agent.text("[data-chat-log]"), "My laptop will not boot") {
		t.Fatalf("conversation: %q", agent.text("main"))
	}
	user.do(chromedp.SendKeys(chromedp.CSS("#chat-panel-body"), "Still there?"))
	agent.waitFor(contains("[data-chat-typing]", "jane is typing"))
	agent.do(chromedp.SendKeys(chromedp.CSS("#chat-reply"), "Hold the power button for ten seconds."))
	user.waitFor(contains("#chat-panel [data-chat-typing]", "root is typing"))
	agent.do(chromedp.Click(chromedp.CSS(`[data-chat-form] button[type=submit]`)))
	user.waitFor(contains("#chat-panel [data-chat-log]", "Hold the power button for ten seconds."))
	user.notReloaded("user's page")
	if got := user.text("#chat-panel [data-chat-typing]"); got != "" {
		t.Errorf("typing still shown after the answer: %q", got)
	}
	if !js[bool](user, `!!document.querySelector("#chat-panel .chat-msg-agent .role-tag")`) {
		t.Error("the agent's message is not marked as support")
	}
	agent.waitFor(contains("[data-chat-log]", "Hold the power button"))
	agent.shot("inbox-conversation")
	user.shot("chat-panel-answered")

	// The user sends the draft with Enter; the agent sees it live.
	user.do(chromedp.SendKeys(chromedp.CSS("#chat-panel-body"), "\r"))
	agent.waitFor(contains("[data-chat-log]", "Still there?"))

	// The panel stays open across pages and shows the conversation.
	user.live("/tickets/new")
	user.waitFor(contains("#chat-panel [data-chat-log]", "Hold the power button"))

	// The agent turns the chat into a ticket and lands on it.
	agent.do(chromedp.Click(chromedp.CSS("[data-chat-convert] summary")))
	agent.set("#convert-title", "Laptop does not boot", "#convert-priority", "High")
	agent.click(`.convert-form button[type=submit]`)
	m := regexp.MustCompile(`^/tickets/(\d+)\?msg=converted$`).FindStringSubmatch(agent.path())
	if m == nil {
		t.Fatalf("after converting: %s %q", agent.path(), agent.text("main"))
	}
	ticketID, _ := strconv.ParseInt(m[1], 10, 64)
	if agent.text("h1") != "Laptop does not boot" || !strings.Contains(agent.text(".flash"), "chat became this ticket") {
		t.Fatalf("ticket page: %q", agent.text("main"))
	}
	if href := js[string](agent, `document.querySelector("[data-testid=chat-link]").getAttribute("href")`); href != fmt.Sprintf("/admin/chats/%d", chatID) {
		t.Fatalf("chat link %q", href)
	}
	if !strings.Contains(agent.text(".attachments"), fmt.Sprintf("chat-%d-transcript.txt", chatID)) {
		t.Errorf("no transcript: %q", agent.text("main"))
	}
	// The user's panel says what became of the chat, with the link.
	user.waitFor(contains("#chat-panel [data-chat-notice]", fmt.Sprintf("ticket #%d", ticketID)))
	user.notReloaded("user's page")
	user.shot("chat-panel-converted")
	user.click("#chat-panel [data-chat-notice] a")
	user.do(chromedp.Click(chromedp.CSS("[data-chat-dismiss]")))
	user.waitFor(`document.getElementById("chat-panel").hidden && document.activeElement.hasAttribute("data-chat-launcher")`)
	if user.path() != fmt.Sprintf("/tickets/%d", ticketID) || user.text("h1") != "Laptop does not boot" {
		t.Fatalf("user on %s: %q", user.path(), user.text("main"))
	}
	user.click("[data-testid=chat-link]")
	if user.path() != fmt.Sprintf("/chats/%d", chatID) || !strings.Contains(user.text("main"), "Hold the power button") {
		t.Fatalf("transcript page %s: %q", user.path(), user.text("main"))
	}
	// And the inbox keeps the chat under the closed ones, linked.
	agent.click("[data-testid=chat-link]")
	if got := agent.text("[data-testid=chat-ticket-link]"); got != fmt.Sprintf("ticket #%d", ticketID) {
		t.Fatalf("inbox ticket link %q", got)
	}
}

func testBrowserLiveTicket(t *testing.T, browser context.Context, e *webtest.Env) {
	ctx := context.Background()
	root := e.CreateUser(t, "root", desk.RoleAdmin)
	jane := e.CreateUser(t, "jane", desk.RoleUser)
	tk, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: "Printer jams", Description: "Floor 3", Category: "Technical"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	agent := newTab(t, browser, e.URL, false)
	user := newTab(t, browser, e.URL, false)
	agent.signIn("root", root.Password, "/tickets")
	user.signIn("jane", jane.Password, "/tickets")
	user.live(path)
	agent.live(path)
	if js[bool](user, `!!document.getElementById("reply-internal")`) || !js[bool](agent, `!!document.getElementById("reply-internal")`) {
		t.Fatal("the internal-note checkbox is offered to the wrong people")
	}

	// A reply with a picture: the user's open page shows both.
	agent.set("#reply-body", "We ordered a new fuser.")
	agent.do(chromedp.SetUploadFiles(chromedp.CSS("#reply-attachment"), []string{writeFile(t, "fuser.png", pngImage())}))
	agent.click(`form.reply-form button[type=submit]`)
	if !strings.Contains(agent.text(".flash"), "reply was posted") || !strings.Contains(agent.text("#conversation"), "We ordered a new fuser.") {
		t.Fatalf("after replying: %s %q", agent.path(), agent.text("main"))
	}
	user.waitFor(contains("#conversation", "We ordered a new fuser."))
	user.waitFor(`(() => { const i = document.querySelector("#conversation .thumb img"); return !!i && i.complete && i.naturalWidth === 48 })()`)
	user.notReloaded("ticket page")
	if !js[bool](user, `document.getElementById("conversation-empty").hidden`) {
		t.Error("the empty-conversation text is still shown")
	}
	if !strings.Contains(user.text("#live-announcer"), "New reply from root") && !strings.Contains(user.text("#conversation .comment-meta"), "root") {
		t.Error("the reply was neither announced nor attributed")
	}

	// An internal note, then a public reply: the user gets the reply and
	// never the note.
	agent.set("#reply-body", "Secret: blame the vendor.")
	agent.do(chromedp.Click(chromedp.CSS("#reply-internal")))
	agent.click(`form.reply-form button[type=submit]`)
	if !strings.Contains(agent.text(".comment-internal"), "Internal note — not visible to the requester") ||
		!strings.Contains(agent.text(".comment-internal"), "Secret: blame the vendor.") {
		t.Fatalf("the admin does not see the labelled note: %q", agent.text("#conversation"))
	}
	agent.shot("ticket-conversation-admin")
	agent.set("#reply-body", "It should arrive on Monday.")
	agent.click(`form.reply-form button[type=submit]`)
	user.waitFor(contains("#conversation", "It should arrive on Monday."))
	user.notReloaded("ticket page")
	if html := js[string](user, `document.documentElement.outerHTML`); strings.Contains(html, "blame the vendor") || strings.Contains(html, "Internal note") {
		t.Fatal("the user's page shows the internal note")
	}
	// A fresh load (open waits for it; a scripted reload would race the
	// next evaluation against the navigation).
	user.open(path)
	user.waitFor(contains("#conversation", "It should arrive on Monday."))
	if strings.Contains(js[string](user, `document.documentElement.outerHTML`), "blame the vendor") {
		t.Fatal("the reloaded page shows the internal note")
	}
	user.shot("ticket-conversation-user")
	user.live(path)

	// The user answers; the agent's page shows it.
	user.set("#reply-body", "Thanks!")
	user.click(`form.reply-form button[type=submit]`)
	user.mark()
	agent.waitFor(contains("#conversation", "Thanks!"))

	// A status change appears on the user's page as it happens.
	agent.set("#new-status", "Resolved", "#note", "Fuser replaced.")
	agent.click(`form.status-form button[type=submit]`)
	user.waitFor(contains("[data-testid=status]", "Resolved"))
	user.waitFor(contains("[data-region=history]", "Fuser replaced."))
	user.notReloaded("ticket page")
	if got := user.text(`[data-region=meta] .badge`); got != "Resolved" {
		t.Errorf("details say %q", got)
	}

	// The ticket list: a visible row changes in place, other tickets are
	// counted in a banner that refreshes the list.
	user.live("/tickets")
	agent.set("#new-status", "Under Review")
	agent.click(`form.status-form button[type=submit]`)
	user.waitFor(contains(fmt.Sprintf(`[data-ticket-row="%d"] [data-row-status]`, tk.ID), "Under Review"))
	if !js[bool](user, `document.querySelector("[data-list-updates]").hidden`) {
		t.Error("a banner for a change that is already shown")
	}
	if _, err := e.Svc.CreateTicket(ctx, jane.User, desk.NewTicket{Title: "Second problem", Description: "d", Category: "Product"}, nil); err != nil {
		t.Fatal(err)
	}
	user.waitFor(`!document.querySelector("[data-list-updates]").hidden`)
	if got := user.text("[data-list-updates-text]"); !strings.Contains(got, "1 new or updated ticket") {
		t.Errorf("banner %q", got)
	}
	user.notReloaded("list")
	user.shot("list-live-banner")
	user.click("[data-list-refresh]")
	if !strings.Contains(user.text("table.tickets"), "Second problem") {
		t.Fatalf("after refreshing: %q", user.text("main"))
	}
}
