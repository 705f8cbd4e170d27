package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// newHTTPServer bounds every connection: -read-header-timeout for the
// headers, -read-timeout for the whole request (a slow body is cut off),
// -write-timeout for the response (the request's context ends at 9/10 of
// it, so the handler answers before the connection is cut),
// -idle-timeout between keep-alive requests, and 64 KiB of headers.
func newHTTPServer(o options, h http.Handler, log *slog.Logger) *http.Server {
	budget := o.writeTimeout - o.writeTimeout/10
	return &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), budget)
			defer cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		}),
		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      o.writeTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// listen opens the address and accepts at most max connections at once:
// further clients wait in the kernel's backlog until one closes.
func listen(addr string, max int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), done: make(chan struct{})}, nil
}

// limitListener is a net.Listener that holds a slot per open connection
// (as golang.org/x/net/netutil.LimitListener, which this module does not
// otherwise need).
type limitListener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

// Close stops Accept, also one waiting for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// cutDelay is how long requests get to answer once their contexts ended at
// the end of the grace period, before their connections are cut.
const cutDelay = time.Second

// serve runs srv on ln until ctx ends (SIGTERM, SIGINT), then shuts down:
// it stops accepting and waits up to grace for the requests in flight;
// then it ends their contexts, so that they answer at once (a delivery
// during the request fails), and cuts the connections still open
// cutDelay later. Shutting down as asked is not an error.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, log *slog.Logger) error {
	base, endRequests := context.WithCancel(context.Background())
	defer endRequests()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	if err := shutdown(srv, grace); err != nil {
		log.Warn("requests still in flight after the grace period: ending them", "grace", grace)
		endRequests()
		if err := shutdown(srv, cutDelay); err != nil {
			log.Warn("cutting the connections of requests that did not answer")
			srv.Close()
		}
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdown runs srv.Shutdown for at most d.
func shutdown(srv *http.Server, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return srv.Shutdown(ctx)
}
