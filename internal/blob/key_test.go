package blob

import (
	"strings"
	"testing"
	"time"
)

func TestNewKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 17, 23, 0, 0, 0, time.FixedZone("x", -3*3600)) // 2024-05-18 in UTC
	tests := []struct{ ext, wantSuffix string }{
		{"pdf", ".pdf"}, {"docx", ".docx"}, {"", ""}, {"PNG", ""}, {"../x", ""}, {"toolongext", ""}, {"mp4", ".mp4"},
	}
	for _, tt := range tests {
		k := newKey(now, tt.ext)
		if !ValidKey(k) {
			t.Errorf("newKey(%q) = %q, not valid", tt.ext, k)
		}
		if !strings.HasPrefix(k, "2024/05/") || len(k) != len("2024/05/")+32+len(tt.wantSuffix) || !strings.HasSuffix(k, tt.wantSuffix) {
			t.Errorf("newKey(%q) = %q, want 2024/05/<32 hex>%s", tt.ext, k, tt.wantSuffix)
		}
	}
	if a, b := NewKey("txt"), NewKey("txt"); a == b {
		t.Errorf("two keys are equal: %s", a)
	}
}

func TestValidKey(t *testing.T) {
	t.Parallel()
	const hex = "0123456789abcdef0123456789abcdef"
	valid := []string{"2024/05/" + hex, "2024/12/" + hex + ".pdf", "1999/01/" + hex + ".docx", "2024/05/" + hex + ".abcdefg8"}
	invalid := []string{
		"", "../x", "/etc/passwd", "a/b", hex,
		"2024/05/" + strings.ToUpper(hex), "2024/05/" + hex[:31], "2024/05/" + hex + "0", "2024/05/" + hex[:31] + "g",
		"2024/13/" + hex, "2024/00/" + hex, "2024/5/" + hex, "24/05/" + hex, "2024-05/" + hex,
		"2024/05/" + hex + ".", "2024/05/" + hex + ".PDF", "2024/05/" + hex + ".abcdefghi", "2024/05/" + hex + ".p/f",
		"2024/05/" + hex + ".pdf.exe", "2024/05/../" + hex, "/2024/05/" + hex, "2024/05/" + hex + "/", "2024/05/" + hex + ".p\x00",
	}
	for _, k := range valid {
		if !ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	for _, k := range invalid {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
}

func TestAssetFor(t *testing.T) {
	t.Parallel()
	const hex = "0123456789abcdef0123456789abcdef"
	tests := []struct{ key, rtype, publicID string }{
		{"2024/05/" + hex + ".png", "image", "2024/05/" + hex},
		{"2024/05/" + hex + ".jpeg", "image", "2024/05/" + hex},
		{"2024/05/" + hex + ".pdf", "raw", "2024/05/" + hex + ".pdf"},
		{"2024/05/" + hex + ".svg", "raw", "2024/05/" + hex + ".svg"},
		{"2024/05/" + hex, "raw", "2024/05/" + hex},
	}
	for _, tt := range tests {
		a := assetFor(tt.key)
		if a.resourceType != tt.rtype || a.publicID != tt.publicID || a.file != tt.key {
			t.Errorf("assetFor(%q) = %+v, want %s %s", tt.key, a, tt.rtype, tt.publicID)
		}
	}
}
