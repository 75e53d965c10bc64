package store_test

import (
	"context"
	"net"
	"testing"
	"time"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

// A PostgreSQL server that accepts connections and never answers (a hung
// host, a half-open proxy) makes store operations fail as Unavailable
// (503) after the connect timeout instead of hanging or being a 500.
func TestPostgresThatNeverAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // silent
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := store.Open(context.Background(), store.Config{DatabaseURL: "postgres://tf@" + ln.Addr().String() + "/tf?sslmode=disable"})
		done <- err
	}()
	select {
	case err := <-done:
		if !desk.IsKind(err, desk.KindUnavailable) {
			t.Fatalf("open: %v (kind %v), want KindUnavailable", err, desk.ErrorKind(err))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("store.Open hangs on a server that never answers")
	}
}
