package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3"

	"ticketflow/internal/desk"
)

// wrap converts driver errors into desk errors: no rows → NotFound,
// uniqueness → Conflict, an unreachable or full database → Unavailable.
// Anything else is returned unchanged (and becomes a 500 upstream).
func (db *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	var de *desk.Error
	if errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	// A connection that failed or timed out (pgx reports a connect timeout
	// as a ConnectError wrapping context.DeadlineExceeded) is an
	// unavailable database, not a bug.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return &desk.Error{Kind: desk.KindUnavailable, Message: "The database is unavailable; try again.", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return desk.ErrNotFound
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch {
		case se.ExtendedCode() == sqlite3.CONSTRAINT_UNIQUE || se.ExtendedCode() == sqlite3.CONSTRAINT_PRIMARYKEY:
			return &desk.Error{Kind: desk.KindConflict, Message: "Already exists.", Err: err}
		case se.Code() == sqlite3.FULL:
			return &desk.Error{Kind: desk.KindUnavailable, Message: "The server's storage is full.", Err: err}
		case se.Code() == sqlite3.BUSY || se.Code() == sqlite3.LOCKED:
			return &desk.Error{Kind: desk.KindUnavailable, Message: "The database is busy; try again.", Err: err}
		case se.Code() == sqlite3.IOERR || se.Code() == sqlite3.CANTOPEN:
			return &desk.Error{Kind: desk.KindUnavailable, Message: "The database is unavailable.", Err: err}
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return &desk.Error{Kind: desk.KindConflict, Message: "Already exists.", Err: err}
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "53300", pe.Code == "40001", pe.Code == "40P01":
			return &desk.Error{Kind: desk.KindUnavailable, Message: "The database is unavailable; try again.", Err: err}
		case pe.Code == "53100":
			return &desk.Error{Kind: desk.KindUnavailable, Message: "The server's storage is full.", Err: err}
		}
		return err
	}
	if isConnError(err) {
		return &desk.Error{Kind: desk.KindUnavailable, Message: "The database is unavailable; try again.", Err: err}
	}
	return err
}

func isConnError(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
}
