package store

import (
	"strings"
	"unicode"
)

// Search limits. Queries are reduced to at most maxSearchTerms words of
// letters and digits, each at most maxTermLen runes long.
const (
	maxSearchTerms = 12
	maxTermLen     = 64
)

// SearchTerms splits free text into the words a search matches, all of which
// must appear (in the title, the description or the creator's username).
// Every other character is a separator, so no user input can reach the
// engines' query syntax.
func SearchTerms(s string) []string {
	var terms []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		w = accentFolder.Replace(strings.ToLower(w))
		if r := []rune(w); len(r) > maxTermLen {
			w = string(r[:maxTermLen])
		}
		if seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, w)
		if len(terms) == maxSearchTerms {
			break
		}
	}
	return terms
}

// matchQuery renders terms as a query for the dialect: an FTS5 expression of
// quoted phrases, or the plain text for plainto_tsquery.
func (db *DB) matchQuery(terms []string) string {
	if db.dialect == Postgres {
		return strings.Join(terms, " ")
	}
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(t) // letters and digits only: no quote to escape
		b.WriteByte('"')
	}
	return b.String()
}

// accentFolder maps accented Latin letters to their base letter. The
// PostgreSQL function search_text (migrations) applies the same table to the
// indexed text; SQLite's tokenizer removes diacritics itself.
var accentFolder = func() *strings.Replacer {
	const from, to = "àáâãäåāăąçćčďèéêëēĕėęěìíîïīĭįñńňòóôõöōŏőŕřśšşťùúûüūŭůűųýÿźżžłøßđ", "aaaaaaaaacccdeeeeeeeeeiiiiiiinnnoooooooorrssstuuuuuuuuuyyzzzlosd"
	f, t := []rune(from), []rune(to)
	pairs := make([]string, 0, 2*len(f))
	for i := range f {
		pairs = append(pairs, string(f[i]), string(t[i]))
	}
	return strings.NewReplacer(pairs...)
}()
