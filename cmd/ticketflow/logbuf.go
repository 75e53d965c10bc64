package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logBuffer batches the server's log lines: writing each request's line
// with its own system call cost a tenth of a ticket detail's time. Lines
// reach the log within logFlushEvery, warnings and errors at once (see
// flushingHandler), the start-up line at once too (runServe flushes
// after it), and everything on shutdown. A process killed with
// SIGKILL loses at most logFlushEvery of info lines.
type logBuffer struct {
	mu     sync.Mutex
	out    io.Writer
	w      *bufio.Writer
	closed bool // after Close, lines go straight out
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

const logFlushEvery = 200 * time.Millisecond

func newLogBuffer(w io.Writer) *logBuffer {
	b := &logBuffer{out: w, w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(logFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				b.Flush()
				return
			}
		}
	}()
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	n, err := b.w.Write(p)
	b.recover(err)
	return n, err
}

// Flush writes out what is buffered.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.w.Flush()
	b.recover(err)
	return err
}

// recover drops what is buffered after a failed write: a bufio.Writer
// keeps its first error, which would silence the log for good after one
// failed write (a log collector restarting, say).
func (b *logBuffer) recover(err error) {
	if err != nil {
		b.w.Reset(b.out)
	}
}

// Close flushes and stops the periodic flushing; later lines are written
// unbuffered.
func (b *logBuffer) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
	})
	return nil
}

// flushingHandler flushes the buffer after each record at warning level
// or above, so that problems show at once and survive a crash that
// follows them.
type flushingHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(as), h.buf}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.buf}
}
