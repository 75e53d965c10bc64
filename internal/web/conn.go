package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
)

// net/http writes a response through a 4 KB buffer per connection, so a
// body larger than that (a list page is 12 KB) leaves in two writes: the
// full buffer, then the rest. On a busy server each write is a TCP send
// and a wake-up of the client, which reads the first part, waits, and
// reads again. A JSON body written by writeJSONBody goes out in one write
// instead: while it is written, the connection holds what net/http hands
// it, and sends it all once the response is flushed.
//
// WrapListener and ConnContext make that possible; a server without them
// (a test's httptest server, say) writes the usual way.

// WrapListener wraps the connections ln accepts so that JSON responses can
// be sent in one write. Use it with ConnContext as the http.Server's
// ConnContext.
func WrapListener(ln net.Listener) net.Listener { return holdingListener{ln} }

// ConnContext is http.Server.ConnContext for a server that serves a
// WrapListener: it lets handlers reach their connection.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*holdingConn); ok {
		return context.WithValue(ctx, keyConn, hc)
	}
	return ctx
}

type holdingListener struct{ net.Listener }

func (l holdingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &holdingConn{Conn: c}, nil
}

// holdingConn is a connection that can keep what is written to it while a
// response is being written (hold) and send it in one write (release).
// Only the goroutine serving the connection writes to it, one request at
// a time, so it needs no lock.
type holdingConn struct {
	net.Conn
	held *[]byte // nil: writes go straight through
}

// holdFrom is the body size from which oneWrite holds writes: a smaller
// body leaves with its headers in net/http's one buffer anyway.
const holdFrom = 2 << 10

// maxHeld bounds what a connection holds: past it, what is held is sent
// and later writes go straight through.
const maxHeld = 512 << 10

var heldBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (c *holdingConn) Write(p []byte) (int, error) {
	if c.held == nil {
		return c.Conn.Write(p)
	}
	if len(*c.held)+len(p) > maxHeld {
		if err := c.release(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	*c.held = append(*c.held, p...)
	return len(p), nil
}

// hold starts keeping writes back (until release).
func (c *holdingConn) hold() {
	if c.held == nil {
		c.held = heldBuffers.Get().(*[]byte)
	}
}

// release sends what was held in one write and lets later writes through.
func (c *holdingConn) release() error {
	b := c.held
	if b == nil {
		return nil
	}
	c.held = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxHeld {
		*b = (*b)[:0]
		heldBuffers.Put(b)
	}
	return err
}

// ReadFrom keeps the connection's own ReadFrom (sendfile and splice for
// attachments) reachable for net/http, after anything held.
func (c *holdingConn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.release(); err != nil {
		return 0, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite lets net/http close its side of a TCP connection gracefully.
func (c *holdingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// oneWrite writes body through w (headers already set) so that headers and
// body leave in one write when r came through a WrapListener; it flushes
// the response.
func oneWrite(w http.ResponseWriter, r *http.Request, body []byte) {
	c, _ := r.Context().Value(keyConn).(*holdingConn)
	if c == nil || len(body) < holdFrom {
		_, _ = w.Write(body)
		return
	}
	c.hold()
	defer c.release()
	if _, err := w.Write(body); err != nil {
		return
	}
	// What did not fill net/http's buffer is still in it: flush it into
	// what is held.
	_ = http.NewResponseController(w).Flush()
}
