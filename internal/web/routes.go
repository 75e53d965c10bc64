package web

import (
	"log/slog"
	"net/http"

	"ticketflow/internal/app"
)

// addRoutes is the whole route table. Every line shows who may call it:
// public, requireUser (any active user) or requireAdmin for the API;
// page, pageUser or pageAdmin for HTML pages, with form marking a
// urlencoded form whose CSRF token is checked before the handler runs.
func addRoutes(mux *http.ServeMux, cfg Config, log *slog.Logger, svc *app.Service, u *ui) {
	var signer *urlSigner
	if len(cfg.URLKey) > 0 {
		signer = &urlSigner{key: cfg.URLKey, now: cfg.Now}
	}
	td := ticketDeps{log: log, svc: svc, baseURL: cfg.BaseURL, signer: signer, now: cfg.Now,
		pages: newPageCache(svc.WriteVersion, cfg.Now)}
	user := func(h http.Handler) http.Handler { return requireUser(svc, log, h) }
	admin := func(h http.Handler) http.Handler { return requireAdmin(svc, log, h) }

	docs, err := handleDocs()
	if err != nil {
		panic("web: the embedded OpenAPI document is broken: " + err.Error()) // caught by every test run
	}
	mux.Handle("GET /healthz", handleHealth(cfg.Version))
	mux.Handle("GET /api/openapi.json", handleOpenAPI())
	mux.Handle("GET /api/docs", docs)
	mux.Handle("GET /readyz", handleReady(log, cfg.Ready))

	// Accounts (both seeds' spellings).
	mux.Handle("POST /api/auth/login", handleLogin(log, svc, cfg.Now))
	mux.Handle("POST /api/auth/register", handleRegister(log, svc))
	mux.Handle("POST /api/auth/refresh", handleRefresh(log, svc, cfg.Now))
	mux.Handle("POST /api/auth/logout", optionalUser(svc, handleLogout(log, svc)))
	mux.Handle("GET /api/auth/me", user(handleMe(log, svc)))
	mux.Handle("GET /api/auth/users/me", user(handleMe(log, svc)))
	mux.Handle("GET /api/auth/me/notifications", user(handleNotificationPrefs(log, svc)))
	mux.Handle("PATCH /api/auth/me/notifications", user(handleNotificationPrefsUpdate(log, svc)))

	// User management.
	mux.Handle("GET /api/users", admin(handleUserList(log, svc, cfg.BaseURL)))
	mux.Handle("GET /api/users/{id}", admin(handleUserGet(log, svc)))
	mux.Handle("PATCH /api/users/{id}", admin(handleUserUpdate(log, svc)))

	// The mail outbox: failed mails and sending them again.
	mux.Handle("GET /api/admin/outbox", admin(handleOutboxList(log, svc, cfg.BaseURL)))
	mux.Handle("POST /api/admin/outbox/{id}/retry", admin(handleOutboxRetry(log, svc)))

	// Tickets: role scoping and ownership are decided in package app.
	mux.Handle("GET /api/tickets", user(handleTicketList(td)))
	mux.Handle("POST /api/tickets", user(handleTicketCreate(td)))
	mux.Handle("GET /api/tickets/{id}", user(handleTicketGet(td)))
	mux.Handle("PATCH /api/tickets/{id}/status", admin(handleTicketStatus(td)))
	mux.Handle("PATCH /api/tickets/{id}/update_status", admin(handleTicketStatus(td)))
	mux.Handle("GET /api/tickets/{id}/history", user(handleTicketHistory(td)))

	// Conversations (internal notes: admins only, decided in package app).
	mux.Handle("GET /api/tickets/{id}/comments", user(handleCommentList(td)))
	mux.Handle("POST /api/tickets/{id}/comments", user(handleCommentCreate(td)))

	// Live support chat: users write in their own chat, admins in any.
	mux.Handle("GET /api/chat", user(handleMyChat(td)))
	mux.Handle("POST /api/chat/messages", user(handleChatSend(td, false)))
	mux.Handle("GET /api/chats", user(handleChatList(td)))
	mux.Handle("GET /api/chats/{id}", user(handleChatGet(td)))
	mux.Handle("POST /api/chats/{id}/messages", user(handleChatSend(td, true)))
	mux.Handle("POST /api/chats/{id}/typing", user(handleChatTyping(td)))
	mux.Handle("POST /api/chats/{id}/close", user(handleChatClose(td)))
	mux.Handle("POST /api/chats/{id}/ticket", admin(handleChatConvert(td)))

	// Live updates (Server-Sent Events); every push re-checks the viewer.
	mux.Handle("GET /api/events", user(handleEvents(td, cfg.Hub, scopeAll)))
	mux.Handle("GET /api/tickets/{id}/events", user(handleEvents(td, cfg.Hub, scopeTicket(td))))
	mux.Handle("GET /api/chats/{id}/events", user(handleEvents(td, cfg.Hub, scopeChat(td))))

	// Tawk.to webhooks: public, authenticated by their HMAC signature.
	mux.Handle("POST /api/integrations/tawk", handleTawkWebhook(log, svc, []byte(cfg.TawkWebhookSecret)))

	// Attachments: a signed link may stand in for the token (see urlSigner).
	mux.Handle("GET /api/attachments/{id}", optionalUser(svc, handleAttachment(td, false)))
	mux.Handle("GET /api/attachments/{id}/download", optionalUser(svc, handleAttachment(td, true)))

	// Pages: server-rendered over the same service. Cookie sessions only;
	// anonymous users are sent to /login?next=…, non-admins get a 403 page.
	page, pageUser, pageAdmin, form := u.pagePublic, u.pageUser, u.pageAdmin, u.form
	mux.Handle("GET /static/{file}", handleStatic(u))
	mux.Handle("GET /{$}", page(handleHome()))
	mux.Handle("GET /login", page(handleLoginPage(u)))
	mux.Handle("POST /login", page(handleLoginSubmit(u)))       // pre-session CSRF token
	mux.Handle("GET /register", page(handleRegisterPage(u)))    // 403 page when closed
	mux.Handle("POST /register", page(handleRegisterSubmit(u))) // pre-session CSRF token
	mux.Handle("POST /logout", pageUser(form(handleLogoutSubmit(u))))
	mux.Handle("GET /tickets", pageUser(handleTicketListPage(u)))
	mux.Handle("GET /tickets/new", pageUser(handleTicketNewPage(u)))
	mux.Handle("POST /tickets/new", pageUser(handleTicketCreatePage(u))) // multipart: CSRF is the first part
	mux.Handle("GET /tickets/{id}", pageUser(handleTicketPage(u)))
	mux.Handle("POST /tickets/{id}/status", pageAdmin(form(handleTicketStatusPage(u))))
	mux.Handle("POST /tickets/{id}/comments", pageUser(handleCommentCreatePage(u))) // multipart: CSRF is the first part
	mux.Handle("GET /chat", pageUser(handleChatPage(u)))
	mux.Handle("POST /chat", pageUser(form(handleChatSendPage(u))))
	mux.Handle("GET /chats/{id}", pageUser(handleChatTranscriptPage(u)))         // the chat's user; admins go to the inbox
	mux.Handle("POST /chats/{id}/close", pageUser(form(handleChatClosePage(u)))) // the chat's user or an admin
	mux.Handle("GET /admin/chats", pageAdmin(handleInboxPage(u)))
	mux.Handle("GET /admin/chats/{id}", pageAdmin(handleInboxPage(u)))
	mux.Handle("POST /admin/chats/{id}/messages", pageAdmin(form(handleInboxReplyPage(u))))
	mux.Handle("POST /admin/chats/{id}/ticket", pageAdmin(form(handleInboxConvertPage(u))))
	mux.Handle("GET /admin/users", pageAdmin(handleUsersPage(u)))
	mux.Handle("POST /admin/users/{id}", pageAdmin(form(handleUserUpdatePage(u))))
	mux.Handle("GET /admin/outbox", pageAdmin(handleOutboxPage(u)))
	mux.Handle("POST /admin/outbox/{id}/retry", pageAdmin(form(handleOutboxRetryPage(u))))
	mux.Handle("GET /settings/notifications", pageUser(handleNotificationsPage(u)))
	mux.Handle("POST /settings/notifications", pageUser(form(handleNotificationsSubmit(u))))
	// The link in every mail: the signed token stands in for a session.
	mux.Handle("GET /unsubscribe", page(handleUnsubscribePage(u)))
	mux.Handle("POST /unsubscribe", page(handleUnsubscribeSubmit(u))) // RFC 8058 one-click too
	// A one-click POST may come from a mail program in another origin; it
	// acts on the link's token alone, never on the session, so refusing
	// cross-origin requests would protect nothing and break unsubscribing.
	u.origin.AddInsecureBypassPattern("POST /unsubscribe")
}
