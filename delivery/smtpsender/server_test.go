package smtpsender_test

// A real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1, for the
// tests: it records what it receives and can require credentials, offer
// STARTTLS or speak TLS from the start, refuse a sender or a recipient, or
// stall.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the server got it.
type received struct {
	From  string
	Rcpts []string
	Data  []byte
	Auth  string // mechanism used, "" when none
	TLS   bool   // whether the session was encrypted
}

type serverOptions struct {
	user, pass string          // when set, AUTH is offered and MAIL requires it
	startTLS   *tls.Config     // when set, STARTTLS is offered
	implicit   *tls.Config     // when set, the listener speaks TLS
	rejectMail *smtp.SMTPError // answer to MAIL FROM
	rejectRcpt string          // a recipient to refuse with 550 5.1.1
	stall      chan struct{}   // when set, DATA waits for it to close
	discard    bool            // when set, messages are counted, not kept
	dropInData int             // when n > 0, DATA keeps the n-th message, then drops the connection unanswered
	dropInMail bool            // when set, MAIL FROM drops the connection unanswered
}

type testServer struct {
	opts serverOptions
	host string
	port int

	mu      sync.Mutex
	msgs    []received
	count   int        // messages accepted, kept or not
	conns   []net.Conn // every connection, in order of arrival
	quits   int        // QUIT commands received
	open    int        // connections open now
	maxOpen int        // the most connections open at once
}

// countingListener keeps track of the server's connections.
type countingListener struct {
	net.Listener
	ts *testServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, ts: l.ts}
	l.ts.mu.Lock()
	defer l.ts.mu.Unlock()
	l.ts.conns = append(l.ts.conns, cc)
	l.ts.open++
	l.ts.maxOpen = max(l.ts.maxOpen, l.ts.open)
	return cc, nil
}

type countedConn struct {
	net.Conn
	ts   *testServer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.ts.mu.Lock()
		c.ts.open--
		c.ts.mu.Unlock()
	})
	return c.Conn.Close()
}

func startServer(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if !opts.discard { // the benchmarks' sink: no tracing cost
		srv.Debug = quitCounter{ts}
	}
	srv.TLSConfig = opts.startTLS

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = countingListener{l, ts}
	if opts.implicit != nil {
		l = tls.NewListener(l, opts.implicit)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		l.Close() // Close misses a listener that Serve has not registered yet
		<-done
	})
	addr := l.Addr().(*net.TCPAddr)
	ts.host, ts.port = addr.IP.String(), addr.Port
	return ts
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// stats returns how many connections the server was opened, how many
// QUIT commands it got and how many messages it accepted.
func (ts *testServer) stats() (conns, quits, msgs int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.conns), ts.quits, ts.count
}

// openConns returns how many connections are open now, and the most that
// were open at once.
func (ts *testServer) openConns() (now, most int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.open, ts.maxOpen
}

// dropAll closes every connection from the server's side, unannounced, as a
// server that restarts or times a client out does.
func (ts *testServer) dropAll() {
	ts.mu.Lock()
	conns := append([]net.Conn(nil), ts.conns...)
	ts.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// quitCounter reads the server's protocol trace to count QUIT commands, so
// that a test tells a polite close from a dropped connection.
type quitCounter struct{ ts *testServer }

func (q quitCounter) Write(b []byte) (int, error) {
	n := 0
	for _, line := range bytes.Split(b, []byte("\r\n")) {
		if bytes.EqualFold(line, []byte("QUIT")) {
			n++
		}
	}
	q.ts.mu.Lock()
	q.ts.quits += n
	q.ts.mu.Unlock()
	return len(b), nil
}

type session struct {
	srv  *testServer
	conn *smtp.Conn
	auth string
	cur  received
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login, "CRAM-MD5"}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.srv.opts.user || pass != s.srv.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.auth = mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	case "CRAM-MD5":
		return &cramServer{user: s.srv.opts.user, pass: s.srv.opts.pass, done: func() { s.auth = mech }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.user != "" && s.auth == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if s.srv.opts.dropInMail {
		s.conn.Conn().Close()
		return nil
	}
	if s.srv.opts.rejectMail != nil {
		return s.srv.opts.rejectMail
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = received{From: from, Auth: s.auth, TLS: isTLS}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.srv.opts.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
	}
	s.cur.Rcpts = append(s.cur.Rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.srv.opts.discard {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		s.srv.mu.Lock()
		s.srv.count++
		s.srv.mu.Unlock()
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.srv.opts.stall != nil {
		<-s.srv.opts.stall
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	s.srv.count++
	drop := s.srv.count == s.srv.opts.dropInData
	s.srv.mu.Unlock()
	if drop {
		// The message is kept but the client never hears so: it cannot
		// know, and must not send it again.
		s.conn.Conn().Close()
	}
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// cramServer is the server side of CRAM-MD5 (RFC 2195).
type cramServer struct {
	user, pass string
	challenge  []byte
	done       func()
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == nil {
		c.challenge = []byte(fmt.Sprintf("<%d.%d@localhost>", time.Now().UnixNano(), 1))
		return c.challenge, false, nil
	}
	user, digest, _ := bytes.Cut(resp, []byte(" "))
	m := hmac.New(md5.New, []byte(c.pass))
	m.Write(c.challenge)
	want := fmt.Sprintf("%x", m.Sum(nil))
	if string(user) != c.user || !hmac.Equal(digest, []byte(want)) {
		return nil, true, smtp.ErrAuthFailed
	}
	c.done()
	return nil, true, nil
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost and
// returns the server's TLS config and a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpsender test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool
}

// mustNotContain fails when err's text holds any of secrets.
func mustNotContain(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error holds %q: %v", s, err)
		}
	}
}
