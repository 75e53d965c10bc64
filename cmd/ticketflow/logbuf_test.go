package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogBuffer(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	buf := newLogBuffer(&out)
	log := slog.New(flushingHandler{slog.NewTextHandler(buf, nil), buf}).With("app", "tf")
	log.Info("request one")
	log.Warn("disk nearly full")
	// A warning is written at once, with what came before it.
	if s := out.String(); !strings.Contains(s, "request one") || !strings.Contains(s, "disk nearly full") || !strings.Contains(s, "app=tf") {
		t.Fatalf("after a warning the log holds %q", s)
	}
	log.Info("request two")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "request two"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an info line was never flushed")
		}
	}
	log.Info("request three")
	buf.Close()
	if !strings.Contains(out.String(), "request three") {
		t.Fatalf("Close did not flush: %q", out.String())
	}
}

// failingWriter fails its first write, as a log pipe whose reader
// restarted might.
type failingWriter struct {
	syncBuffer
	failed bool
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	first := !f.failed
	f.failed = true
	f.mu.Unlock()
	if first {
		return 0, errors.New("broken pipe")
	}
	return f.syncBuffer.Write(p)
}

// TestLogBufferAfterWriteError checks that one failed write loses only what
// was buffered then, and that lines logged after Close still get out.
func TestLogBufferAfterWriteError(t *testing.T) {
	t.Parallel()
	out := &failingWriter{}
	buf := newLogBuffer(out)
	log := slog.New(flushingHandler{slog.NewTextHandler(buf, nil), buf})
	log.Warn("lost with the failed write")
	log.Warn("after the failure")
	if s := out.String(); !strings.Contains(s, "after the failure") {
		t.Fatalf("the log stayed silent after one failed write: %q", s)
	}
	buf.Close()
	buf.Close() // twice is harmless
	log.Info("after close")
	if s := out.String(); !strings.Contains(s, "after close") {
		t.Fatalf("a line logged after Close was lost: %q", s)
	}
}
