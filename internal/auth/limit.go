package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter counts failures per key (an IP, an account) in token buckets: each
// failure takes a token, tokens come back at a steady rate, and a key with
// no token left is refused until one returns. Successes cost nothing.
type Limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	every   time.Duration
	burst   int
	now     func() time.Time
	ops     int
}

// NewLimiter allows burst failures per key, refilled one per every.
func NewLimiter(every time.Duration, burst int, now func() time.Time) *Limiter {
	return &Limiter{buckets: map[string]*rate.Limiter{}, every: every, burst: burst, now: now}
}

// Check reports whether key may try now and, if not, how long until it may.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return true, 0
	}
	now := l.now()
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return true, 0
	}
	wait := time.Duration((1 - tokens) * float64(l.every))
	return false, max(wait, time.Second)
}

// Fail records a failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Every(l.every), l.burst) // starts full
		l.buckets[key] = b
	}
	b.AllowN(now, 1)
	l.ops++
	if l.ops%1024 == 0 {
		l.sweep(now)
	}
}

// Reset forgets key's failures (after a success).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}

// sweep drops buckets that have refilled completely: they hold no state.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// Len returns the number of keys holding failures (for metrics and tests).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
