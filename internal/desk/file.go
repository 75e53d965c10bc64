package desk

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FileType is an accepted attachment type: its canonical MIME type, the
// extension files of that type are given, other extensions it is known by,
// and whether browsers may show it inline (images and PDF only; never SVG or
// HTML, which are not accepted at all).
type FileType struct {
	MIME   string
	Ext    string
	Alt    []string
	Inline bool
}

// FileTypes is the allow-list of attachment types, keyed by the MIME type
// content sniffing reports.
var FileTypes = map[string]FileType{
	"image/png":        {MIME: "image/png", Ext: "png", Inline: true},
	"image/jpeg":       {MIME: "image/jpeg", Ext: "jpg", Alt: []string{"jpeg", "jpe"}, Inline: true},
	"image/gif":        {MIME: "image/gif", Ext: "gif", Inline: true},
	"image/webp":       {MIME: "image/webp", Ext: "webp", Inline: true},
	"image/bmp":        {MIME: "image/bmp", Ext: "bmp", Inline: true},
	"application/pdf":  {MIME: "application/pdf", Ext: "pdf", Inline: true},
	"text/plain":       {MIME: "text/plain", Ext: "txt", Alt: []string{"log", "md", "text", "ini", "conf", "cfg"}},
	"text/csv":         {MIME: "text/csv", Ext: "csv"},
	"text/rtf":         {MIME: "application/rtf", Ext: "rtf"},
	"application/json": {MIME: "application/json", Ext: "json"},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {MIME: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Ext: "docx"},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Ext: "xlsx"},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {MIME: "application/vnd.openxmlformats-officedocument.presentationml.presentation", Ext: "pptx"},
	"application/msword":                              {MIME: "application/msword", Ext: "doc"},
	"application/vnd.ms-excel":                        {MIME: "application/vnd.ms-excel", Ext: "xls"},
	"application/vnd.ms-powerpoint":                   {MIME: "application/vnd.ms-powerpoint", Ext: "ppt"},
	"application/vnd.oasis.opendocument.text":         {MIME: "application/vnd.oasis.opendocument.text", Ext: "odt"},
	"application/vnd.oasis.opendocument.spreadsheet":  {MIME: "application/vnd.oasis.opendocument.spreadsheet", Ext: "ods"},
	"application/vnd.oasis.opendocument.presentation": {MIME: "application/vnd.oasis.opendocument.presentation", Ext: "odp"},
	"application/zip":                                 {MIME: "application/zip", Ext: "zip"},
	"application/gzip":                                {MIME: "application/gzip", Ext: "gz", Alt: []string{"tgz"}},
	"application/x-7z-compressed":                     {MIME: "application/x-7z-compressed", Ext: "7z"},
	"application/x-tar":                               {MIME: "application/x-tar", Ext: "tar"},
}

// FileTypeByMIME returns the accepted type for a MIME type (parameters such
// as charset ignored), or false.
func FileTypeByMIME(mime string) (FileType, bool) {
	mime, _, _ = strings.Cut(mime, ";")
	ft, ok := FileTypes[strings.ToLower(strings.TrimSpace(mime))]
	return ft, ok
}

// MaxFilenameLen bounds a stored filename in bytes.
const MaxFilenameLen = 150

// SanitizeFilename returns a safe display and download name for an upload of
// type ft: the last path element only, without control, bidirectional-
// override or reserved characters, at most MaxFilenameLen bytes, and ending
// in an extension of ft (appended when the given one does not match, so that
// "invoice.html" sniffed as text is stored as "invoice.html.txt").
func SanitizeFilename(name string, ft FileType) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '\t' || r == ' ':
			b.WriteRune(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			continue
		case unicode.Is(unicode.Bidi_Control, r) || r == 0x200b || r == 0xfeff || r == 0x2028 || r == 0x2029:
			continue
		case strings.ContainsRune(`<>:"|?*;`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Join(strings.Fields(b.String()), " ")
	name = strings.Trim(name, ". ")
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	base := name
	if ext == ft.Ext || contains(ft.Alt, ext) {
		base = strings.TrimSuffix(name, path.Ext(name))
	} else {
		ext = ft.Ext
	}
	base = strings.Trim(base, ". ")
	if base == "" {
		base = "attachment"
	}
	limit := MaxFilenameLen - len(ext) - 1
	for len(base) > limit {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return strings.TrimRight(base, ". ") + "." + ext
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
