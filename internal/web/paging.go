package web

import (
	"net/http"
	"net/url"
	"strconv"
)

// listJSON is the paginated list shape both seeds' clients know (Django REST
// framework's), with TicketFlow's extras after it.
type listJSON[T any] struct {
	Count      int     `json:"count"`
	Next       *string `json:"next"`
	Previous   *string `json:"previous"`
	Results    []T     `json:"results"`
	CountExact *bool   `json:"count_exact,omitempty"`
	Ordering   string  `json:"ordering,omitempty"`
	NextCursor *string `json:"next_cursor,omitempty"`
}

// pageURL returns the request's URL under base with the given query
// parameters replaced (an empty value removes the parameter).
func pageURL(r *http.Request, base string, set map[string]string) *string {
	q := r.URL.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	s := base + u.String()
	return &s
}

func itoa(n int) string { return strconv.Itoa(n) }

// pageQuery reads page and page_size of the page-numbered admin lists
// (users, outbox): page ≥ 1, size 1..200, 50 when absent or zero.
func pageQuery(q url.Values) (page, size int) {
	page, _ = strconv.Atoi(q.Get("page"))
	size, _ = strconv.Atoi(q.Get("page_size"))
	page, size = max(page, 1), min(max(size, 0), 200)
	if size == 0 {
		size = 50
	}
	return page, size
}

// linkPages sets out's next and previous links around page.
func linkPages[T any](out *listJSON[T], r *http.Request, baseURL string, page, size int) {
	base := requestBase(r, baseURL)
	if page*size < out.Count {
		out.Next = pageURL(r, base, map[string]string{"page": itoa(page + 1)})
	}
	if page > 1 {
		out.Previous = pageURL(r, base, map[string]string{"page": itoa(page - 1)})
	}
}
