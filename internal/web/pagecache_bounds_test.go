package web

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestPageCacheBounds checks the cache's memory bounds and its rules for
// which page a key holds.
func TestPageCacheBounds(t *testing.T) {
	t.Parallel()
	var version uint64 = 7
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := newPageCache(func() (uint64, bool) { return version, true }, func() time.Time { return now })
	req := httptest.NewRequest("GET", "/api/tickets", nil)
	size := func() (n int) {
		for k, p := range c.pages {
			n += len(k) + len(p.body)
		}
		return n
	}

	// Many small pages: the count is bounded.
	for i := range 3 * maxCachedPages {
		c.store("k"+strconv.Itoa(i), version, []byte("{}\n"))
	}
	if len(c.pages) > maxCachedPages || c.bytes != size() {
		t.Fatalf("%d pages, %d bytes counted, %d held", len(c.pages), c.bytes, size())
	}
	// Large pages: the bytes are bounded, and the newest page is kept.
	big := bytes.Repeat([]byte("x"), 200<<10)
	for i := range 64 {
		c.store("big"+strconv.Itoa(i), version, big)
	}
	if c.bytes > pageCacheBytes || c.bytes != size() {
		t.Fatalf("%d bytes counted, %d held, bound %d", c.bytes, size(), pageCacheBytes)
	}
	if b, _, _ := c.lookup("big63", req); !bytes.Equal(b, big) {
		t.Fatal("the page stored last is gone")
	}
	// Too large a page is not kept, nor a page under too long a key, and
	// a fresher page too large to keep drops the one it replaces.
	c.store("huge", version, make([]byte, maxCachedPage+1))
	if b, _, _ := c.lookup("huge", req); b != nil {
		t.Fatal("a page over maxCachedPage was kept")
	}
	longKey := string(bytes.Repeat([]byte("q"), maxCachedPage))
	c.store(longKey, version, []byte("{}\n"))
	if b, _, _ := c.lookup(longKey, req); b != nil {
		t.Fatal("a page under a key over maxCachedPage was kept")
	}
	c.store("grows", version, []byte("small\n"))
	c.store("grows", version, make([]byte, maxCachedPage+1))
	if b, _, _ := c.lookup("grows", req); b != nil || c.bytes != size() {
		t.Fatalf("a page replaced by one too large to keep is still served (%q), or the count is off", b)
	}
	// A page read before a write does not replace one read after it.
	c.store("k", version, []byte("new\n"))
	c.store("k", version-1, []byte("old\n"))
	if b, _, _ := c.lookup("k", req); string(b) != "new\n" {
		t.Fatalf("lookup: %q", b)
	}
	// Replacing a page keeps the byte count right.
	c.store("k", version, []byte("newer\n"))
	if c.bytes != size() {
		t.Fatalf("%d bytes counted, %d held", c.bytes, size())
	}
	// The stored body is a copy.
	body := []byte("mine\n")
	c.store("copy", version, body)
	body[0] = 'X'
	if b, _, _ := c.lookup("copy", req); string(b) != "mine\n" {
		t.Fatalf("the cache shares the caller's buffer: %q", b)
	}
	// After a write, or a second later, nothing is served.
	version++
	if b, v, ok := c.lookup("k", req); b != nil || v != version || !ok {
		t.Fatalf("after a write: %q %d %v", b, v, ok)
	}
	c.store("k", version, []byte("fresh\n"))
	now = now.Add(pageCacheTTL)
	if b, _, _ := c.lookup("k", req); b != nil {
		t.Fatalf("after the TTL: %q", b)
	}
	// The same page read again after a write and past the TTL (a forced
	// reload) is served again, from the bytes already held: no second
	// copy, and the count is unchanged.
	held, n := c.pages["copy"].body, c.bytes
	again := []byte("mine\n")
	c.store("copy", version, again)
	if b, _, _ := c.lookup("copy", req); string(b) != "mine\n" || &b[0] != &held[0] || c.bytes != n || c.bytes != size() {
		t.Fatalf("an unchanged page: served %q (same bytes: %v), %d bytes counted, %d before, %d held", b, len(b) > 0 && &b[0] == &held[0], c.bytes, n, size())
	}
	// A changed page is copied in.
	c.store("copy", version, []byte("yours\n"))
	if b, _, _ := c.lookup("copy", req); string(b) != "yours\n" || c.bytes != size() {
		t.Fatalf("a changed page: %q, %d bytes counted, %d held", b, c.bytes, size())
	}
	// Without a version that stands for the database nothing is kept.
	off := newPageCache(func() (uint64, bool) { return 0, false }, time.Now)
	if _, _, ok := off.lookup("k", req); ok {
		t.Fatal("a cache without a version offers to store")
	}
}
