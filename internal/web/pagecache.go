package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pageCache keeps rendered ticket-list pages (GET /api/tickets without a
// search or a cursor: the dashboards and filter views that people open and
// reload) for the viewer that asked, so that a reload costs no query.
//
// A page is served from memory only while no write has been committed
// since it was read (the store's WriteVersion, which on SQLite moves after
// every commit of a change a page can show (the search index's merges and
// the mail outbox's bookkeeping are not)
// and before the writer is answered, so everyone, the writer
// first, sees a write at once) and for at most pageCacheTTL, which bounds
// what writes made by another process (a command run beside the server)
// can leave behind. Where the version cannot stand for the database
// (PostgreSQL, written by several instances) nothing is cached.
//
// A request with Cache-Control: no-cache or Pragma: no-cache reads the
// database and refreshes the page.
type pageCache struct {
	version func() (uint64, bool)
	now     func() time.Time

	mu    sync.Mutex
	pages map[string]*cachedPage
	bytes int
}

type cachedPage struct {
	body    []byte
	version uint64
	at      time.Time
}

const (
	pageCacheTTL = time.Second
	// pageCacheBytes bounds the memory the pages (with their keys) take.
	pageCacheBytes = 4 << 20
	// maxCachedPage keeps the largest pages (100 long tickets, or a long
	// query string in the key) out.
	maxCachedPage = 256 << 10
	// maxCachedPages bounds the map (and the work of an eviction).
	maxCachedPages = 1024
)

func newPageCache(version func() (uint64, bool), now func() time.Time) *pageCache {
	return &pageCache{version: version, now: now, pages: map[string]*cachedPage{}}
}

// lookup returns the cached body for key, or nil and the version to store
// a fresh page under (ok false: do not store).
func (c *pageCache) lookup(key string, r *http.Request) (body []byte, v uint64, ok bool) {
	v, ok = c.version()
	if !ok {
		return nil, 0, false
	}
	if !forcedReload(r.Header) {
		c.mu.Lock()
		p := c.pages[key]
		c.mu.Unlock()
		if p != nil && p.version == v && c.now().Sub(p.at) < pageCacheTTL {
			return p.body, v, true
		}
	}
	return nil, v, true
}

// store keeps a copy of body, read at version v, under key; if the page
// it replaces holds the same bytes, it keeps those instead.
func (c *pageCache) store(key string, v uint64, body []byte) {
	size := len(key) + len(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.pages[key]; old != nil {
		if old.version > v {
			return // a page read after this one is already there
		}
		if bytes.Equal(old.body, body) {
			// Unchanged (a forced reload, or a write elsewhere): the
			// stored bytes stay, under the new version, without a copy.
			// Bodies are never changed once stored, so lookups that
			// hold the old page may go on reading them.
			c.pages[key] = &cachedPage{body: old.body, version: v, at: c.now()}
			return
		}
		c.bytes -= len(key) + len(old.body)
		delete(c.pages, key)
	}
	if size > maxCachedPage {
		return // not kept, and the older page it replaces is gone too
	}
	p := &cachedPage{body: append([]byte(nil), body...), version: v, at: c.now()}
	if c.bytes+size > pageCacheBytes || len(c.pages) >= maxCachedPages {
		c.evict(size)
	}
	c.pages[key] = p
	c.bytes += size
}

// evict makes room for size bytes: stale pages first, then any.
func (c *pageCache) evict(size int) {
	cur, _ := c.version()
	now := c.now()
	for k, p := range c.pages {
		if p.version != cur || now.Sub(p.at) >= pageCacheTTL {
			c.bytes -= len(k) + len(p.body)
			delete(c.pages, k)
		}
	}
	for k, p := range c.pages {
		if c.bytes+size <= pageCacheBytes && len(c.pages) < maxCachedPages {
			break
		}
		c.bytes -= len(k) + len(p.body)
		delete(c.pages, k)
	}
}

// forcedReload reports whether the client asked for a fresh answer.
func forcedReload(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		if strings.Contains(strings.ToLower(v), "no-cache") {
			return true
		}
	}
	return strings.EqualFold(h.Get("Pragma"), "no-cache")
}

// listCacheKey is what a cached list page depends on besides the data:
// the viewer (attachment links are signed for them; their role decides
// which tickets they see), the address links are built on, and the query.
func listCacheKey(viewer int64, admin bool, base, rawQuery string) string {
	scope := "own"
	if admin {
		scope = "all"
	}
	return strconv.FormatInt(viewer, 10) + "\x00" + scope + "\x00" + base + "\x00" + rawQuery
}
