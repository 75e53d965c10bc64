package blobtest

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
)

// body is a deterministic pseudo-random stream of n bytes, generated as it is
// read (never held in memory), that hashes what it hands out.
type body struct {
	rng  *rand.ChaCha8
	left int64
	sum  hash.Hash
}

func newBody(seed uint64, n int64) *body {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return &body{rng: rand.NewChaCha8(s), left: n, sum: sha256.New()}
}

func (b *body) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, _ := b.rng.Read(p)
	b.left -= int64(n)
	b.sum.Write(p[:n])
	return n, nil
}

// digest returns the SHA-256 of n bytes of the stream for seed.
func digest(seed uint64, n int64) []byte {
	b := newBody(seed, n)
	io.Copy(io.Discard, b)
	return b.sum.Sum(nil)
}

var errBoom = errors.New("blobtest: reader failed on purpose")

// failing yields n bytes of a body and then fails with errBoom.
type failing struct{ r io.Reader }

func failAfter(n int64) *failing { return &failing{io.LimitReader(newBody(7, n), n)} }

func (f *failing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBoom
	}
	return n, err
}

// cancelling yields n bytes, then calls cancel and goes on yielding bytes
// (up to total), so only the store's own context handling can stop the Put.
type cancelling struct {
	r      io.Reader
	n      int64
	cancel func()
}

func cancelAfter(n, total int64, cancel func()) *cancelling {
	return &cancelling{r: newBody(9, total), n: n, cancel: cancel}
}

func (c *cancelling) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if c.n > 0 && int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// counting records whether it was read at all.
type counting struct{ reads int }

func (c *counting) Read(p []byte) (int, error) {
	c.reads++
	return 0, io.EOF
}
