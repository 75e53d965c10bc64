package realtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NOTIFY payloads must stay under 8,000 bytes. Messages longer than
// maxChunk are split (at UTF-8 boundaries) into parts sent in one
// transaction, so that they arrive together or not at all.
const (
	maxChunk    = 7000
	maxParts    = 1024
	maxPartials = 256 // messages being reassembled at once
)

// PG joins the hubs of instances sharing a PostgreSQL database through
// LISTEN/NOTIFY on one channel.
type PG struct {
	url     string
	channel string
	appName string
	log     *slog.Logger
	pool    *pgxpool.Pool
	prefix  string
	n       atomic.Uint64

	mu     sync.Mutex
	listen *pgx.Conn // the current listening connection; Run replaces it
}

// ChannelFor returns the NOTIFY channel of the database schema: instances
// of one deployment share it, deployments in other schemas do not.
func ChannelFor(schema string) string {
	c := "ticketflow_" + schema
	if len(c) > 63 {
		sum := sha256.Sum256([]byte(schema))
		c = "ticketflow_" + hex.EncodeToString(sum[:16])
	}
	return c
}

// NewPG connects to the database at url and starts listening on channel,
// so that no message sent after it returns is missed. Close it when done.
func NewPG(ctx context.Context, url, channel string, log *slog.Logger) (*PG, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	id := randomID()
	p := &PG{url: url, channel: channel, log: log, pool: pool, prefix: id,
		appName: "ticketflow-listen-" + id}
	conn, err := p.connect(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("listen for events: %w", err)
	}
	p.listen = conn
	return p, nil
}

func (p *PG) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(p.url)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = p.appName
	cfg.ConnectTimeout = 5 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{p.channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// Send notifies every listener, this instance included, of msg.
func (p *PG) Send(ctx context.Context, msg []byte) error {
	id := p.prefix + "." + strconv.FormatUint(p.n.Add(1), 36)
	parts := split(msg, maxChunk)
	if len(parts) > maxParts {
		return fmt.Errorf("realtime: message of %d bytes is too large to share", len(msg))
	}
	payload := func(i int) string {
		return id + " " + strconv.Itoa(i) + " " + strconv.Itoa(len(parts)) + "\n" + string(parts[i])
	}
	if len(parts) == 1 {
		_, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", p.channel, payload(0))
		return err
	}
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for i := range parts {
			if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", p.channel, payload(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// split cuts b into pieces of at most n bytes without splitting a UTF-8
// sequence (NOTIFY payloads must be valid text).
func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		cut := n
		for cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
			cut--
		}
		out = append(out, b[:cut])
		b = b[cut:]
	}
	return append(out, b)
}

// Run hands every complete message to deliver until ctx ends. When the
// connection is lost (the database restarted) it reconnects with backoff
// and then calls gap, since messages sent meanwhile were missed.
func (p *PG) Run(ctx context.Context, deliver func([]byte), gap func()) {
	partials := map[string]*partial{}
	var order []string
	backoff := 100 * time.Millisecond
	for {
		p.mu.Lock()
		conn := p.listen
		p.mu.Unlock()
		if conn == nil {
			var err error
			conn, err = p.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.log.Warn("realtime: reconnecting to PostgreSQL", "err", err, "retry_in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			p.mu.Lock()
			p.listen = conn
			p.mu.Unlock()
			p.log.Info("realtime: listening again after a lost connection")
			backoff = 100 * time.Millisecond
			clear(partials)
			order = order[:0]
			gap()
		}
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.WithoutCancel(ctx))
				p.mu.Lock()
				p.listen = nil
				p.mu.Unlock()
				if ctx.Err() != nil {
					return
				}
				p.log.Warn("realtime: lost the PostgreSQL listener", "err", err)
				break
			}
			if msg := reassemble(n.Payload, partials, &order); msg != nil {
				deliver(msg)
			}
		}
	}
}

type partial struct {
	parts [][]byte
	got   int
}

// reassemble adds one notification to the messages being rebuilt and
// returns a message once all its parts are in. Malformed payloads are
// ignored; at most maxPartials messages are pending (oldest dropped).
func reassemble(payload string, partials map[string]*partial, order *[]string) []byte {
	head, body, ok := bytes.Cut([]byte(payload), []byte("\n"))
	if !ok {
		return nil
	}
	f := bytes.Fields(head)
	if len(f) != 3 {
		return nil
	}
	id := string(f[0])
	i, err1 := strconv.Atoi(string(f[1]))
	n, err2 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil || n < 1 || n > maxParts || i < 0 || i >= n {
		return nil
	}
	if n == 1 {
		return body
	}
	pm := partials[id]
	if pm == nil {
		if len(*order) >= maxPartials {
			delete(partials, (*order)[0])
			*order = (*order)[1:]
		}
		pm = &partial{parts: make([][]byte, n)}
		partials[id] = pm
		*order = append(*order, id)
	}
	if len(pm.parts) != n || pm.parts[i] != nil {
		return nil
	}
	pm.parts[i] = body
	if pm.got++; pm.got < n {
		return nil
	}
	delete(partials, id)
	for k, v := range *order {
		if v == id {
			*order = append((*order)[:k], (*order)[k+1:]...)
			break
		}
	}
	return bytes.Join(pm.parts, nil)
}

// Close releases the connections. Call it after Run has returned.
func (p *PG) Close() {
	p.mu.Lock()
	if p.listen != nil {
		p.listen.Close(context.Background())
		p.listen = nil
	}
	p.mu.Unlock()
	p.pool.Close()
}

var _ Peers = (*PG)(nil)
