package desk

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeFilename(t *testing.T) {
	t.Parallel()
	png, pdf, txt := FileTypes["image/png"], FileTypes["application/pdf"], FileTypes["text/plain"]
	jpg := FileTypes["image/jpeg"]
	tests := []struct {
		in   string
		ft   FileType
		want string
	}{
		{"screenshot.png", png, "screenshot.png"},
		{"Screenshot.PNG", png, "Screenshot.png"},
		{"photo.jpeg", jpg, "photo.jpeg"},
		{"report.pdf", pdf, "report.pdf"},
		{"../../etc/passwd", txt, "passwd.txt"},
		{`..\..\windows\system32\cmd.exe`, txt, "cmd.exe.txt"},
		{"..", txt, "attachment.txt"},
		{"", png, "attachment.png"},
		{"   ", png, "attachment.png"},
		{".htaccess", txt, "htaccess.txt"},
		{"invoice.html", txt, "invoice.html.txt"},
		{"image.svg", png, "image.svg.png"},
		{"evil\u202egpj.exe", png, "evilgpj.exe.png"},
		{"a\x00b\nc.txt", txt, "abc.txt"},
		{`<script>alert(1)</script>.txt`, txt, "script_.txt"},
		{`<img src=x onerror=alert(1)>.txt`, txt, "_img src=x onerror=alert(1)_.txt"},
		{"résumé 2026.pdf", pdf, "résumé 2026.pdf"},
		{"日本語のファイル.txt", txt, "日本語のファイル.txt"},
		{"name.", pdf, "name.pdf"},
		{"a  b\t\tc.pdf", pdf, "a b c.pdf"},
		{"bad\xffutf8.txt", txt, "badutf8.txt"},
		{"notes.log", txt, "notes.log"},
	}
	for _, tt := range tests {
		if got := SanitizeFilename(tt.in, tt.ft); got != tt.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := SanitizeFilename(strings.Repeat("é", 200)+".pdf", pdf)
	if len(long) > MaxFilenameLen || !strings.HasSuffix(long, ".pdf") || !utf8.ValidString(long) {
		t.Errorf("long name: %d bytes %q", len(long), long)
	}
}

func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"a.png", "../x", "\u202e", "..", "a\u200b\ufeff.txt", "x.jpeg", "résumé\u2067.pdf", strings.Repeat("x", 300), "a\x00.pdf", "<>:\"|?*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, ft := range FileTypes {
			out := SanitizeFilename(in, ft)
			if len(out) > MaxFilenameLen || !utf8.ValidString(out) || strings.ContainsAny(out, "/\\<>:\"|?*\x00\n\r") ||
				strings.HasPrefix(out, ".") || out == "" {
				t.Fatalf("SanitizeFilename(%q, %s) = %q", in, ft.Ext, out)
			}
			if !strings.HasSuffix(out, "."+ft.Ext) && !hasAlt(out, ft) {
				t.Fatalf("SanitizeFilename(%q, %s) = %q: wrong extension", in, ft.Ext, out)
			}
			// A stored name is already safe: sanitising it again changes nothing.
			if again := SanitizeFilename(out, ft); again != out {
				t.Fatalf("SanitizeFilename is not idempotent: %q → %q → %q", in, out, again)
			}
			for _, r := range out {
				if r < 0x20 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200b || r == 0xfeff || r == 0x200e || r == 0x200f {
					t.Fatalf("control rune %U in %q", r, out)
				}
			}
		}
	})
}

func hasAlt(name string, ft FileType) bool {
	for _, a := range ft.Alt {
		if strings.HasSuffix(strings.ToLower(name), "."+a) {
			return true
		}
	}
	return false
}

func TestFileTypeByMIME(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"text/plain; charset=utf-8": "txt", "IMAGE/PNG": "png", "application/pdf": "pdf"} {
		if ft, ok := FileTypeByMIME(in); !ok || ft.Ext != want {
			t.Errorf("FileTypeByMIME(%q) = %+v, %v", in, ft, ok)
		}
	}
	for _, bad := range []string{"image/svg+xml", "text/html", "application/xhtml+xml", "application/javascript", "application/x-msdownload", ""} {
		if _, ok := FileTypeByMIME(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	for m, ft := range FileTypes {
		if ft.Inline && !(strings.HasPrefix(m, "image/") || m == "application/pdf") {
			t.Errorf("%s inline", m)
		}
	}
}
