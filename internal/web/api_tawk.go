package web

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"ticketflow/internal/app"
	"ticketflow/internal/desk"
)

// maxWebhookBody caps a Tawk.to delivery.
const maxWebhookBody = 1 << 20

// handleTawkWebhook serves POST /api/integrations/tawk. Deliveries must
// carry X-Tawk-Signature, the hex HMAC-SHA1 of the raw body under the
// webhook secret (401 otherwise). chat:end and chat:transcript_created
// file a ticket once per event id and chat (201 new, 200 already filed);
// other events are acknowledged (202) so that Tawk.to does not retry them.
// Without a configured secret the endpoint does not exist (404).
func handleTawkWebhook(log *slog.Logger, svc *app.Service, secret []byte) http.Handler {
	type delivery struct {
		Event    string `json:"event"`
		ChatID   string `json:"chatId"`
		Time     string `json:"time"`
		Property struct {
			Name string `json:"name"`
		} `json:"property"`
		Visitor struct {
			Name    string `json:"name"`
			Email   string `json:"email"`
			City    string `json:"city"`
			Country string `json:"country"`
		} `json:"visitor"`
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(secret) == 0 {
			writeError(w, r, log, desk.ErrNotFound)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, r, log, desk.Errorf(desk.KindTooLarge, "Request body too large."))
				return
			}
			writeError(w, r, log, desk.Wrap(desk.KindInvalid, err, "The body could not be read."))
			return
		}
		if !validTawkSignature(secret, body, r.Header.Get("X-Tawk-Signature")) {
			log.WarnContext(r.Context(), "Tawk.to webhook with a bad signature", "ip", ipFrom(r))
			writeError(w, r, log, desk.Errorf(desk.KindUnauthenticated, "Invalid signature."))
			return
		}
		var d delivery
		if err := json.Unmarshal(body, &d); err != nil {
			writeError(w, r, log, desk.Wrap(desk.KindInvalid, err, "JSON parse error - the body is not a valid JSON object."))
			return
		}
		if d.Event != "chat:end" && d.Event != "chat:transcript_created" {
			writeJSON(w, http.StatusAccepted, map[string]any{"ignored": true, "event": d.Event})
			return
		}
		t, created, err := svc.TawkChatEnded(r.Context(), app.TawkChat{EventID: strings.TrimSpace(r.Header.Get("X-Hook-Event-Id")),
			Event: d.Event, ChatID: d.ChatID, Time: d.Time, Property: d.Property.Name, Message: d.Message.Text,
			Visitor: app.TawkVisitor{Name: d.Visitor.Name, Email: d.Visitor.Email, City: d.Visitor.City, Country: d.Visitor.Country},
			Raw:     body})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, map[string]any{"ticket_id": t.ID, "created": created})
	})
}

// validTawkSignature compares the header with HMAC-SHA1(secret, body) in
// constant time.
func validTawkSignature(secret, body []byte, header string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha1.Size {
		return false
	}
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
