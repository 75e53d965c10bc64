// Package smtptest runs a real SMTP server in the test process (the
// server side of github.com/emersion/go-smtp on a loopback listener): it
// records every message it accepts, can refuse recipients with any reply
// code, can be stopped and started again on the same address, and speaks
// STARTTLS, implicit TLS and AUTH PLAIN when asked.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options choose how the server talks.
type Options struct {
	// TLS "starttls" offers STARTTLS, "tls" wraps the listener in TLS;
	// "" is plain text.
	TLS string
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
}

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte // as received, headers and body
	Auth string // the user that authenticated, if any
}

// Server is a running test SMTP server.
type Server struct {
	Host string
	Port int

	opt   Options
	cert  *tls.Certificate
	roots *x509.CertPool

	mu     sync.Mutex
	srv    *smtp.Server
	ln     net.Listener
	msgs   []Message
	reject *smtp.SMTPError // answer to RCPT TO, nil to accept
	done   chan struct{}   // closed when the current Serve returns
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{Host: "127.0.0.1", opt: opt}
	if opt.TLS != "" {
		s.cert, s.roots = selfSigned(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ClientTLS returns a client configuration that trusts the server's
// certificate (nil for a plain-text server).
func (s *Server) ClientTLS() *tls.Config {
	if s.roots == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.roots, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.AllowInsecureAuth = true
	if s.cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}
		if s.opt.TLS == "tls" {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.ln, s.done = srv, ln, done
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln); close(done) }()
}

// Stop closes the listener and every connection: clients now get
// "connection refused". Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// Close the listener too: Serve may not have registered it with the
	// server yet, and then srv.Close would leave it open.
	_ = ln.Close()
	_ = srv.Close()
	<-done
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; another process could take it, but on
	// loopback in a test that does not happen in practice.
	for range 50 {
		if ln, err = net.Listen("tcp", s.Addr()); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen again on %s: %v", s.Addr(), err)
	}
	s.serve(ln)
}

// Reject makes RCPT TO answer code (e.g. 550 or 451) with text; code 0
// accepts again.
func (s *Server) Reject(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.reject = nil
		return
	}
	s.reject = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until at least n messages were accepted and returns them;
// it fails the test after a generous deadline (a hang, not a timing check).
func (s *Server) WaitFor(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d messages, got %d", n, len(s.Messages()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type session struct {
	s    *Server
	auth string
	msg  Message
}

func (se *session) AuthMechanisms() []string {
	if se.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.s.opt.Username || password != se.s.opt.Password {
			return smtp.ErrAuthFailed
		}
		se.auth = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opt.Username != "" && se.auth == "" {
		return smtp.ErrAuthRequired
	}
	se.msg = Message{From: from, Auth: se.auth}
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	rej := se.s.reject
	se.s.mu.Unlock()
	if rej != nil {
		return rej
	}
	se.msg.To = append(se.msg.To, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(se.msg.To) == 0 {
		return errors.New("no recipient")
	}
	se.msg.Data = bytes.Clone(b)
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, se.msg)
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset()        { se.msg = Message{Auth: se.auth} }
func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
