// Package blob stores attachment bytes behind one small interface, with three
// backends: files on local disk (Disk), S3-compatible object storage (S3) and
// Cloudinary (Cloudinary). Metadata (file name, sniffed type, owner) lives in
// the database; a backend only maps an opaque key to bytes.
//
// Every backend streams: no call holds a whole object in memory. Every
// backend validates keys with ValidKey before any I/O, so a key can never
// name anything outside the store.
//
// Overwrite semantics: Put on an existing key replaces the object atomically.
// Readers see either the old bytes or the new ones, never a mix, and a Put
// that fails leaves the old object untouched.
package blob

import (
	"context"
	"io"
)

// Store keeps attachment bytes under opaque keys chosen by the caller.
type Store interface {
	// Put writes the bytes of r under key. It must never leave a partial
	// object visible under key: on any error (including ctx cancellation or
	// r returning an error mid-stream) nothing is stored under key.
	// size is the exact length if known, or -1. contentType is informative.
	// Put streams: it must never hold the whole object in memory.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the object's bytes and size. A missing key is desk.ErrNotFound (KindNotFound).
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Lister is implemented by backends that can enumerate their keys (disk, S3), used for
// consistency checks and backups.
type Lister interface {
	// Keys calls fn once for every stored key, in no particular order.
	// Entries that are not valid keys (temporary files, foreign objects)
	// are skipped. An error from fn stops the walk and is returned as is.
	Keys(ctx context.Context, fn func(key string) error) error
}

// Compile-time checks that every backend implements what it promises.
var (
	_ Store  = (*Disk)(nil)
	_ Lister = (*Disk)(nil)
	_ Store  = (*S3)(nil)
	_ Lister = (*S3)(nil)
	_ Store  = (*Cloudinary)(nil)
)
