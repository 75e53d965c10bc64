package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"ticketflow/internal/desk"
)

// errSourceClosed is what a client library gets if it reads the body after
// Put has returned; the caller's reader is never touched then.
var errSourceClosed = errors.New("blob: body read after Put returned")

// source wraps the caller's reader for one Put, so that every backend treats
// bodies the same way. It
//   - fails with ctx.Err() as soon as ctx is done, even if r keeps yielding;
//   - enforces the declared size: a body that ends early or runs long is an
//     error that surfaces before the body is complete, so no backend commits it;
//   - enforces an optional maximum with a KindTooLarge error;
//   - remembers the first error it returned, so Put can report the caller's
//     error rather than however a client library wrapped (or lost) it;
//   - after close, never touches r again: client libraries may go on reading
//     a request body from another goroutine after they return.
type source struct {
	ctx  context.Context
	size int64 // declared length, or -1
	max  int64 // 0: no maximum

	mu     sync.Mutex
	r      io.Reader
	n      int64
	err    error
	closed bool
}

func newSource(ctx context.Context, r io.Reader, size, max int64) *source {
	return &source{ctx: ctx, r: r, size: size, max: max}
}

func (s *source) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errSourceClosed
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	// Read at most one byte past the declared size or the maximum: enough
	// to notice an over-long body without consuming it.
	if s.size >= 0 {
		p = clamp(p, s.size-s.n+1)
	}
	if s.max > 0 {
		p = clamp(p, s.max-s.n+1)
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err == nil && s.size >= 0 && s.n == s.size {
		err = s.probeEOF()
	}
	if e := s.check(err); e != nil {
		s.err = e
		return 0, e
	}
	return n, err
}

// checkEmpty verifies up front that a body declared empty is empty: a
// client library sends no body at all for a zero length, so an over-long
// body would otherwise go unnoticed.
func (s *source) checkEmpty() error {
	if s.size != 0 {
		return nil
	}
	var b [1]byte
	if _, err := s.Read(b[:]); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// probeEOF checks that a body which has reached its declared size really
// ends there, because a client library sending a known length may stop
// reading at that length and never see extra bytes.
func (s *source) probeEOF() error {
	var b [1]byte
	for range 100 {
		n, err := s.r.Read(b[:])
		s.n += int64(n)
		if n > 0 || err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// check turns the outcome of one read into the error to report, or nil.
func (s *source) check(err error) error {
	switch {
	case s.max > 0 && s.n > s.max:
		return desk.Errorf(desk.KindTooLarge, "The file is too large (the limit is %d bytes).", s.max)
	case s.size >= 0 && s.n > s.size:
		return fmt.Errorf("blob: body is longer than the declared %d bytes", s.size)
	case err == io.EOF && s.size >= 0 && s.n < s.size:
		return fmt.Errorf("blob: body ended after %d of the declared %d bytes", s.n, s.size)
	case err != nil && err != io.EOF:
		return err
	}
	return nil
}

// close stops all further reads of the caller's reader. It waits for a read
// in progress to finish, so once it returns Put may return too.
func (s *source) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// failure returns the error the source reported to its reader, or nil.
func (s *source) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// count returns the number of bytes read from the caller's reader.
func (s *source) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// result picks the error Put reports when the backend call failed with err:
// the source's own error if it had one (the caller's reader failed, the body
// was too large, ctx was cancelled), else ctx's error, else err.
func (s *source) result(err error) error {
	if f := s.failure(); f != nil {
		return f
	}
	if c := s.ctx.Err(); c != nil {
		return c
	}
	return err
}

func clamp(p []byte, n int64) []byte {
	if int64(len(p)) > n {
		return p[:n]
	}
	return p
}
