package sample

import "ticketflow/internal/desk"

type topic struct {
	thing    string
	problems []string
}

var topics = map[desk.Category][]topic{
	desk.CategoryTechnical: {
		{"VPN", []string{"keeps disconnecting", "will not connect", "is very slow", "asks for the token twice"}},
		{"laptop", []string{"does not boot", "overheats", "battery drains fast", "screen flickers"}},
		{"printer on floor 3", []string{"jams", "prints blank pages", "is offline", "shows error"}},
		{"email", []string{"not syncing", "bounces", "attachments missing", "calendar invites lost"}},
		{"Wi-Fi in the meeting room", []string{"drops", "is slow", "needs a password", "not visible"}},
		{"password", []string{"expired", "reset link broken", "locked out", "two-factor code rejected"}},
		{"monitor", []string{"no signal", "wrong resolution", "dead pixels", "docking station not detected"}},
		{"shared drive", []string{"access denied", "files missing", "very slow", "quota exceeded"}},
	},
	desk.CategoryFinancial: {
		{"expense report", []string{"rejected", "stuck in approval", "missing receipt", "wrong amount"}},
		{"invoice", []string{"paid twice", "not received", "wrong VAT", "needs a purchase order"}},
		{"salary slip", []string{"missing", "wrong bank account", "tax code incorrect", "late"}},
		{"corporate card", []string{"declined", "limit too low", "lost", "charge disputed"}},
		{"travel refund", []string{"delayed", "currency conversion wrong", "partially paid", "form unclear"}},
	},
	desk.CategoryProduct: {
		{"dashboard", []string{"loads slowly", "shows stale numbers", "export broken", "needs dark mode"}},
		{"mobile app", []string{"crashes on start", "login loop", "notifications missing", "layout broken"}},
		{"search", []string{"misses results", "too slow", "ignores filters", "needs fuzzy matching"}},
		{"report builder", []string{"feature request", "chart colours", "CSV export", "scheduled reports"}},
		{"onboarding flow", []string{"confusing step", "typo", "video does not play", "needs translation"}},
	},
}

var titleShapes = []string{"%s %s", "My %s %s", "The %s %s", "%s: %s", "Our team's %s %s"}

var urgency = []string{"(urgent)", "since Monday", "again", "after the update", "for the whole team"}

var closings = []string{"Please advise.", "Please help, thanks.", "Could you please take a look?",
	"Please let me know if you need more details.", "Thanks in advance, please."}

var sentenceShapes = []string{
	"It started %s when I tried to open the %s.",
	"I already restarted the %s and checked the %s.",
	"This blocks my %s work on the %s.",
	"My colleague sees the same %s with the %s.",
	"The %s message mentions %s and %s.",
	"We need this fixed before the %s %s.",
	"It happens every time I use the %s from home.",
	"Nothing changed on my %s recently.",
}

// vocabulary is ordered from the most to the least frequent word (Zipf).
var vocabulary = []string{
	"system", "account", "computer", "application", "network", "browser", "meeting", "yesterday", "morning",
	"client", "server", "report", "update", "screen", "connection", "project", "deadline", "office", "document",
	"spreadsheet", "calendar", "keyboard", "mouse", "headset", "camera", "microphone", "router", "cable",
	"firewall", "certificate", "license", "installer", "driver", "firmware", "backup", "restore", "database",
	"timeout", "proxy", "gateway", "token", "session", "cookie", "cache", "storage", "quota", "permission",
	"approval", "manager", "budget", "quarter", "invoice", "receipt", "supplier", "contract", "payroll",
	"reimbursement", "customer", "release", "feature", "roadmap", "prototype", "feedback", "analytics", "export",
	"import", "integration", "webhook", "notification", "dashboard", "widget", "template", "workflow",
	"tablet", "phone", "charger", "adapter", "projector", "whiteboard", "badge", "door", "elevator", "parking",
	"kitchen", "coffee", "heating", "ventilation", "lighting", "desk", "chair", "locker", "mailroom", "courier",
	"audit", "compliance", "policy", "training", "onboarding", "offboarding", "handover", "migration", "rollout",
	"pilot", "benchmark", "latency", "throughput", "outage", "incident", "postmortem", "escalation", "ticket",
	"queue", "priority", "severity", "workaround", "patch", "hotfix", "regression", "changelog", "sandbox",
	"staging", "production", "cluster", "container", "kernel", "bios", "bluetooth", "ethernet", "antenna",
	"satellite", "kiosk", "scanner", "barcode", "label", "shipment", "warehouse", "inventory", "forecast",
	"spreadsheet", "pivot", "macro", "formula", "chart", "slide", "presentation", "transcript", "subtitle",
	"translation", "glossary", "typography", "palette", "accessibility", "screenreader", "contrast", "zoom",
	"gigabit", "terabyte", "checksum", "hash", "cipher", "keystore", "keychain", "smartcard", "fingerprint",
	"hologram", "quasar", "zeppelin", "xylophone", "kumquat", "marzipan", "origami", "tangram", "yodel",
}
