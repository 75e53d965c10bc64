// TicketFlow live updates: one EventSource per page on /api/events (the
// session cookie authenticates it), feeding the ticket page, the ticket
// list, the support chat (panel and page) and the agents' inbox. Every page
// works without this file; it only saves reloads.
//
// What is inserted into pages comes either from the server's own HTML (the
// page is fetched again and its marked regions taken over: one rendering,
// and the server decides what the viewer may see) or, for chat lines, is
// built here with textContent only.
(function () {
	"use strict";

	var body = document.body;
	var eventsURL = body.getAttribute("data-events");
	if (!eventsURL || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
	var me = parseInt(body.getAttribute("data-user-id"), 10);
	var isAdmin = body.hasAttribute("data-admin");
	var csrfMeta = document.querySelector('meta[name="csrf-token"]');
	var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
	var root = document.documentElement;

	var TYPING_SEND_EVERY = 3000; // ms between two typing signals
	var TYPING_SHOWN_FOR = 6000;  // ms a typing indication lasts

	// --- the event bus ---------------------------------------------------

	var handlers = {};
	function on(name, fn) { (handlers[name] = handlers[name] || []).push(fn); }
	function emit(name, data) {
		(handlers[name] || []).forEach(function (fn) {
			try { fn(data); } catch (e) { if (window.console) { console.error(e); } }
		});
	}

	var EVENTS = ["presence", "ticket.created", "ticket.updated", "comment.created", "chat.started",
		"chat.message", "chat.typing", "chat.closed", "reset", "bye"];

	// connect opens the stream. The browser reconnects by itself and sends
	// Last-Event-ID; the server replays what was missed or sends "reset".
	// html[data-live] says whether the stream is open (styling, tests).
	function connect() {
		var es = new EventSource(eventsURL);
		es.addEventListener("open", function () { root.setAttribute("data-live", "open"); });
		es.addEventListener("error", function () {
			root.setAttribute("data-live", es.readyState === EventSource.CLOSED ? "closed" : "connecting");
		});
		EVENTS.forEach(function (name) {
			es.addEventListener(name, function (ev) {
				var data = {};
				try { data = JSON.parse(ev.data); } catch (e) { return; }
				emit(name, data);
			});
		});
	}

	// --- helpers -----------------------------------------------------------

	function api(method, url, payload) {
		var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
		if (payload !== undefined) {
			opts.headers["Content-Type"] = "application/json";
			opts.body = JSON.stringify(payload);
		}
		return fetch(url, opts).then(function (res) {
			return res.text().then(function (text) {
				var json = null;
				try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
				if (!res.ok) {
					var err = new Error(errorText(json, res.status));
					err.status = res.status;
					throw err;
				}
				return json;
			});
		});
	}

	function errorText(json, status) {
		if (json && typeof json.detail === "string") { return json.detail; }
		if (json && typeof json === "object") {
			for (var k in json) {
				if (Array.isArray(json[k])) { return json[k].join(" "); }
			}
		}
		return "Something went wrong (" + status + "). Please try again.";
	}

	// fetchPage loads the current page again as a document.
	function fetchPage() {
		return fetch(location.pathname + location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
			.then(function (res) {
				if (!res.ok) { throw new Error("reload failed: " + res.status); }
				return res.text();
			})
			.then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
	}

	// coalesce runs fn (which returns a promise) one at a time; calls made
	// while it runs lead to exactly one more run.
	function coalesce(fn) {
		var running = false, again = false;
		return function run() {
			if (running) { again = true; return; }
			running = true;
			Promise.resolve().then(fn).catch(function (e) { if (window.console) { console.warn(e); } }).then(function () {
				running = false;
				if (again) { again = false; run(); }
			});
		};
	}

	function localTimes(el) {
		if (window.TicketFlow && window.TicketFlow.localTimes) { window.TicketFlow.localTimes(el); }
	}

	var announcer = document.getElementById("live-announcer");
	// announce tells screen-reader users about a change elsewhere on the page.
	function announce(msg) {
		if (!announcer) { return; }
		announcer.textContent = "";
		window.setTimeout(function () { announcer.textContent = msg; }, 50);
	}

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls) { e.className = cls; }
		if (text !== undefined) { e.textContent = text; }
		return e;
	}

	function slug(s) { return String(s).toLowerCase().replace(/ /g, "-"); }

	// --- ticket page -------------------------------------------------------

	function ticketPage() {
		var head = document.querySelector("[data-ticket-live]");
		if (!head) { return; }
		var id = parseInt(head.getAttribute("data-ticket-live"), 10);
		var refresh = coalesce(function () { return fetchPage().then(applyTicket); });
		on("comment.created", function (d) { if (d.ticket_id === id) { refresh(); } });
		on("ticket.updated", function (d) { if (d.ticket && d.ticket.id === id) { refresh(); } });
		on("reset", refresh);
	}

	function applyTicket(doc) {
		var list = document.getElementById("conversation");
		var freshList = doc.getElementById("conversation");
		if (list && freshList) {
			Array.prototype.forEach.call(freshList.children, function (li) {
				if (!li.id || document.getElementById(li.id)) { return; }
				var node = document.importNode(li, true);
				node.classList.add("is-new");
				list.appendChild(node);
				localTimes(node);
				var who = node.querySelector(".comment-meta strong");
				var kind = node.classList.contains("comment-internal") ? "New internal note from " : "New reply from ";
				announce(kind + (who ? who.textContent : "someone") + ".");
			});
			var empty = document.getElementById("conversation-empty");
			if (empty) { empty.hidden = list.children.length > 0; }
		}
		var badge = document.querySelector('[data-region="status-badge"]');
		var before = badge ? badge.textContent : "";
		document.querySelectorAll("[data-region]").forEach(function (cur) {
			var name = cur.getAttribute("data-region");
			var fresh = doc.querySelector('[data-region="' + name + '"]');
			if (!fresh || (name === "status-form" && busy(cur))) { return; }
			var node = document.importNode(fresh, true);
			cur.replaceWith(node);
			localTimes(node);
		});
		badge = document.querySelector('[data-region="status-badge"]');
		if (badge && badge.textContent !== before) {
			badge.classList.add("is-new");
			announce("Status changed to " + badge.textContent + ".");
		}
	}

	// busy reports whether someone is using a form region (it is then left
	// alone rather than replaced under their hands).
	function busy(region) {
		if (region.contains(document.activeElement)) { return true; }
		return Array.prototype.some.call(region.querySelectorAll("textarea, input[type=text]"), function (f) { return f.value !== ""; });
	}

	// --- ticket list: a banner for tickets that changed elsewhere -------------

	function ticketList() {
		var banner = document.querySelector("[data-list-updates]");
		if (!banner) { return; }
		var text = banner.querySelector("[data-list-updates-text]");
		var link = banner.querySelector("[data-list-refresh]");
		var seen = {}, count = 0;
		function show(msg) {
			text.textContent = msg;
			link.setAttribute("href", location.pathname + location.search);
			banner.hidden = false;
		}
		function note(t, created) {
			if (!t) { return; }
			var row = document.querySelector('[data-ticket-row="' + t.id + '"]');
			if (row && !created) {
				var badge = row.querySelector("[data-row-status]");
				if (badge && badge.textContent !== t.status) {
					badge.textContent = t.status;
					badge.className = "badge badge-" + slug(t.status);
					row.classList.add("is-new");
					announce("Ticket #" + t.id + " is now " + t.status + ".");
				}
				return;
			}
			if (seen[t.id]) { return; }
			seen[t.id] = true;
			count++;
			show(count + (count === 1 ? " new or updated ticket" : " new or updated tickets") + " since this list was loaded.");
		}
		on("ticket.created", function (d) { note(d.ticket, true); });
		on("ticket.updated", function (d) { note(d.ticket, false); });
		on("reset", function () { show("Some updates may have been missed."); });
	}

	// --- admins: open chats count in the navigation --------------------------

	function openChatsCount() {
		var badge = document.querySelector("[data-open-chats]");
		if (!isAdmin || !badge) { return; }
		var refresh = coalesce(function () {
			return api("GET", "/api/chats?status=open").then(function (list) {
				var n = list && typeof list.count === "number" ? list.count : 0;
				badge.textContent = "";
				if (n > 0) {
					badge.appendChild(document.createTextNode(String(n)));
					badge.appendChild(el("span", "visually-hidden", " open"));
				}
				badge.hidden = n === 0;
			});
		});
		refresh();
		on("chat.started", function (d) {
			if (d.chat && d.chat.user && d.chat.user.id !== me) { announce("New chat from " + d.chat.user.username + "."); }
			refresh();
		});
		on("chat.closed", refresh);
		on("reset", refresh);
	}

	// --- the agents' inbox: the chat list follows the chats ------------------

	function inbox() {
		var box = document.querySelector("[data-inbox]");
		if (!box) { return; }
		var pane = box.querySelector("[data-chat]");
		var selected = pane ? parseInt(pane.getAttribute("data-chat-id"), 10) : 0;
		var news = {};
		var refresh = coalesce(function () {
			return fetchPage().then(function (doc) {
				var cur = box.querySelector('[data-region="chat-list"]');
				var fresh = doc.querySelector('[data-region="chat-list"]');
				if (!cur || !fresh) { return; }
				var focused = cur.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
				var node = document.importNode(fresh, true);
				cur.replaceWith(node);
				localTimes(node);
				node.querySelectorAll("[data-chat-item]").forEach(function (a) {
					if (news[a.getAttribute("data-chat-item")]) {
						a.classList.add("has-news");
						a.appendChild(el("span", "visually-hidden", " (new message)"));
					}
				});
				if (focused) {
					var again = node.querySelector('a[href="' + focused + '"]');
					if (again) { again.focus(); }
				}
			});
		});
		on("chat.started", refresh);
		on("chat.message", function (d) {
			if (d.chat_id !== selected && d.message && !d.message.from_agent) { news[d.chat_id] = true; }
			refresh();
		});
		on("chat.closed", refresh);
		on("reset", refresh);
	}

	// --- chat conversations: the user's (panel and /chat) and an agent's -----

	// chat drives one conversation element: data-chat="mine" is the user's
	// own chat (started by the first message), data-chat="agent" a chat an
	// admin answers in the inbox. loaded says whether its messages are on
	// the page already (the panel loads them when first opened).
	function chat(box, loaded) {
		var mode = box.getAttribute("data-chat");
		var chatId = parseInt(box.getAttribute("data-chat-id"), 10) || 0;
		var log = box.querySelector("[data-chat-log]");
		var empty = box.querySelector("[data-chat-empty]");
		var presenceEl = box.querySelector("[data-chat-presence]");
		var typingEl = box.querySelector("[data-chat-typing]");
		var notice = box.querySelector("[data-chat-notice]");
		var form = box.querySelector("[data-chat-form]");
		var input = form ? form.querySelector("textarea") : null;
		var errorEl = box.querySelector("[data-chat-error]");
		var endButton = box.querySelector("[data-chat-end]");
		var typingTimer = 0, lastTypingSent = 0;
		var pending = []; // messages that arrived while the first load ran
		var self = { load: load, loaded: function () { return loaded; }, onAgentMessage: null };

		function setChat(id) {
			chatId = id || 0;
			box.setAttribute("data-chat-id", chatId ? String(chatId) : "");
			if (endButton) { endButton.hidden = !chatId; }
		}
		setChat(chatId);

		function add(m) {
			if (!loaded) {
				pending.push(m);
				return;
			}
			if (!log || log.querySelector('[data-message-id="' + m.id + '"]')) { return; }
			var mine = m.author && m.author.id === me;
			var li = el("li", "chat-msg" + (m.from_agent ? " chat-msg-agent" : "") + (mine ? " chat-msg-mine" : ""));
			li.id = "chat-msg-" + m.id;
			li.setAttribute("data-message-id", String(m.id));
			var meta = el("p", "chat-meta");
			meta.appendChild(el("span", "chat-who", mine ? "You" : m.author.username));
			if (m.from_agent && !mine) {
				meta.appendChild(document.createTextNode(" "));
				meta.appendChild(el("span", "role-tag", "Support"));
			}
			meta.appendChild(document.createTextNode(" "));
			var time = el("time", "", m.created_at);
			time.setAttribute("datetime", m.created_at);
			meta.appendChild(time);
			li.appendChild(meta);
			li.appendChild(el("p", "chat-body", m.body));
			log.appendChild(li);
			localTimes(li);
			if (empty) { empty.hidden = true; }
			log.scrollTop = log.scrollHeight;
			if (!mine) { typing(""); }
		}

		function presence(n) {
			if (!presenceEl || mode !== "mine") { return; }
			presenceEl.textContent = n > 0 ? "An agent is online." : "No agent is online — your message will become a ticket.";
			presenceEl.classList.toggle("is-online", n > 0);
		}

		function typing(name) {
			if (!typingEl) { return; }
			window.clearTimeout(typingTimer);
			typingEl.textContent = name ? name + " is typing…" : "";
			if (name) { typingTimer = window.setTimeout(function () { typingEl.textContent = ""; }, TYPING_SHOWN_FOR); }
		}

		function say(nodes) {
			if (!notice) { return; }
			notice.textContent = "";
			nodes.forEach(function (n) { notice.appendChild(typeof n === "string" ? document.createTextNode(n) : n); });
			notice.hidden = nodes.length === 0;
		}

		function ticketLink(id) {
			var a = el("a", "", "ticket #" + id);
			a.href = "/tickets/" + id;
			return a;
		}

		function ended(c) {
			typing("");
			if (c.ticket_id) {
				say(["This chat became ", ticketLink(c.ticket_id), "."]);
			} else {
				say([mode === "mine" ? "The chat has ended. Write again to start a new one." : "This chat has ended."]);
			}
			if (mode === "mine") {
				setChat(0);
				return;
			}
			if (form) {
				Array.prototype.forEach.call(form.elements, function (f) { f.disabled = true; });
			}
			var closer = box.querySelector("[data-chat-closer]");
			if (closer) { closer.hidden = true; }
			var convert = box.querySelector("[data-chat-convert]");
			if (convert && c.ticket_id) { convert.hidden = true; }
			var status = box.querySelector("[data-chat-status]");
			if (status) {
				status.textContent = "Closed";
				status.className = "badge badge-chat-closed";
			}
		}

		function showError(msg) {
			if (!errorEl) { return; }
			errorEl.textContent = msg;
			errorEl.hidden = !msg;
			if (input) {
				if (msg) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
			}
		}

		function load() {
			var url = mode === "mine" ? "/api/chat" : "/api/chats/" + chatId;
			if (mode !== "mine" && !chatId) { return Promise.resolve(); }
			return api("GET", url).then(function (d) {
				loaded = true;
				if (mode === "mine") { setChat(d.chat && d.chat.status === "open" ? d.chat.id : 0); }
				(d.messages || []).concat(pending.filter(function (m) { return m.chat_id === chatId; })).forEach(add);
				pending = [];
				presence(d.agents_online);
				if (mode !== "mine" && d.chat && d.chat.status !== "open") { ended(d.chat); }
			});
		}

		function send() {
			var text = input.value.trim();
			if (!text) {
				showError("Write a message first.");
				input.focus();
				return;
			}
			var url = mode === "mine" ? "/api/chat/messages" : "/api/chats/" + chatId + "/messages";
			var button = form.querySelector("button[type=submit]");
			button.disabled = true;
			api("POST", url, { body: text }).then(function (res) {
				showError("");
				input.value = "";
				loaded = true;
				if (mode === "mine") { setChat(res.chat.id); }
				add(res.message);
				if (res.offline && res.ticket) {
					say(["No agent was online, so your message became ", ticketLink(res.ticket.id),
						". We will answer there; you can keep writing here to start a new chat."]);
					setChat(0);
				} else {
					say([]);
				}
			}, function (err) {
				showError(err.message);
			}).then(function () {
				button.disabled = false;
				input.focus();
			});
		}

		if (form && input) {
			form.addEventListener("submit", function (ev) {
				ev.preventDefault();
				send();
			});
			input.addEventListener("keydown", function (ev) {
				if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
					ev.preventDefault();
					send();
				}
			});
			input.addEventListener("input", function () {
				var now = Date.now();
				if (!chatId || !input.value.trim() || now - lastTypingSent < TYPING_SEND_EVERY) { return; }
				lastTypingSent = now;
				api("POST", "/api/chats/" + chatId + "/typing").catch(function () {});
			});
		}
		if (endButton) {
			endButton.addEventListener("click", function () {
				if (!chatId) { return; }
				api("POST", "/api/chats/" + chatId + "/close").then(ended, function (err) { showError(err.message); });
			});
		}

		on("presence", function (d) { presence(d.agents_online); });
		on("chat.message", function (d) {
			if (mode === "mine" && d.chat && d.chat.user && d.chat.user.id === me && d.chat.status === "open") { setChat(d.chat_id); }
			if (d.chat_id !== chatId) { return; }
			add(d.message);
			if (d.message.from_agent && d.message.author.id !== me && self.onAgentMessage) { self.onAgentMessage(d.message); }
		});
		on("chat.typing", function (d) {
			if (d.chat_id === chatId && d.user && d.user.id !== me) { typing(d.user.username); }
		});
		on("chat.closed", function (d) {
			if (d.chat && d.chat.id === chatId) { ended(d.chat); }
		});
		on("reset", function () { if (loaded) { load().catch(function () {}); } });
		return self;
	}

	// chatPanel is the launcher and panel on every page of a signed-in
	// user: without this script the launcher is a link to /chat.
	function chatPanel() {
		var launcher = document.querySelector("[data-chat-launcher]");
		var panel = document.querySelector("[data-chat-panel]");
		if (!launcher || !panel) { return; }
		var unread = launcher.querySelector("[data-chat-unread]");
		var c = chat(panel, false);
		var input = panel.querySelector("textarea");
		function open(focus) {
			panel.hidden = false;
			launcher.setAttribute("aria-expanded", "true");
			if (unread) { unread.hidden = true; }
			try { sessionStorage.setItem("tf-chat-open", "1"); } catch (e) { /* private mode */ }
			var ready = c.loaded() ? Promise.resolve() : c.load();
			ready.catch(function () {});
			if (focus && input) { input.focus(); }
		}
		function close() {
			panel.hidden = true;
			launcher.setAttribute("aria-expanded", "false");
			try { sessionStorage.removeItem("tf-chat-open"); } catch (e) { /* private mode */ }
			launcher.focus();
		}
		// With the script the link toggles the panel: announce it as a button
		// and let Space press it too.
		launcher.setAttribute("role", "button");
		launcher.addEventListener("click", function (ev) {
			ev.preventDefault();
			if (panel.hidden) { open(true); } else { close(); }
		});
		launcher.addEventListener("keydown", function (ev) {
			if (ev.key === " ") {
				ev.preventDefault();
				launcher.click();
			}
		});
		panel.querySelector("[data-chat-dismiss]").addEventListener("click", close);
		panel.addEventListener("keydown", function (ev) {
			if (ev.key === "Escape") { close(); }
		});
		c.onAgentMessage = function (m) {
			if (panel.hidden) {
				if (unread) { unread.hidden = false; }
				announce("New message from support: " + m.body);
			}
		};
		// A chat message for a panel that never loaded: show it is there.
		on("chat.message", function (d) {
			if (!c.loaded() && d.message && d.message.from_agent && d.chat && d.chat.user.id === me && unread) { unread.hidden = false; }
		});
		var wasOpen = false;
		try { wasOpen = sessionStorage.getItem("tf-chat-open") === "1"; } catch (e) { /* private mode */ }
		if (wasOpen) { open(false); }
	}

	function start() {
		ticketPage();
		ticketList();
		openChatsCount();
		inbox();
		document.querySelectorAll("main [data-chat]").forEach(function (box) { chat(box, true); });
		chatPanel();
		connect();
	}

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", start);
	} else {
		start();
	}
})();
