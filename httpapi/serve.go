package httpapi

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The HTTP server of the API, as every binary and test of it runs it: its timeouts and
// its limits on connections, in one place (R-SEC-6). A slow or greedy client can hold
// neither a goroutine nor a descriptor for long, nor all of them.
const (
	// HeaderTimeout bounds the wait for a request's headers.
	HeaderTimeout = 10 * time.Second
	// TransferTimeout bounds an authenticated upload, or a download: files are large.
	TransferTimeout = 5 * time.Minute
	// IdleTimeout closes a kept-alive connection no request arrives on.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes caps a request's headers (R-SEC-6).
	MaxHeaderBytes = 64 << 10

	// DefaultRequestTimeout bounds the reading of any other request's body (at most
	// 64 KiB of JSON) and the writing of its answer, from the end of its headers. A login
	// may wait its turn (5 s) and a hashing slot (2 s) within it.
	DefaultRequestTimeout = 20 * time.Second
	// DefaultMaxConns caps the connections open at once. Keep it under the process's
	// limit on descriptors (ulimit -n), less about 50 for the store's files.
	DefaultMaxConns = 900
	// DefaultMaxConnsPerClient caps the connections open at once from one address, so
	// that one client cannot take them all. Behind a reverse proxy every connection
	// comes from the proxy's address: raise it, or turn it off with -1.
	DefaultMaxConnsPerClient = 64
)

// Limits are the connection and time limits of NewHTTPServer and Listen. Zero values
// take the defaults above; -1 turns a connection cap off.
type Limits struct {
	RequestTimeout    time.Duration
	MaxConns          int
	MaxConnsPerClient int
}

func (l Limits) withDefaults() Limits {
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxConnsPerClient == 0 {
		l.MaxConnsPerClient = DefaultMaxConnsPerClient
	}
	return l
}

// NewHTTPServer returns the http.Server that serves h with the API's timeouts: headers
// within HeaderTimeout, then each request's body and answer within the limits'
// RequestTimeout, which the upload and download routes lengthen to TransferTimeout once
// they know the request is theirs (an upload: once it is authenticated). log, if not
// nil, receives the server's own errors.
func NewHTTPServer(h http.Handler, l Limits, log *slog.Logger) *http.Server {
	l = l.withDefaults()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadline := time.Now().Add(l.RequestTimeout)
			rc := http.NewResponseController(w)
			rc.SetReadDeadline(deadline)
			rc.SetWriteDeadline(deadline)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: HeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return srv
}

// lengthen gives a request TransferTimeout from now to send its body and read its
// answer: for uploads and downloads, whose bytes take time.
func lengthen(w http.ResponseWriter) {
	deadline := time.Now().Add(TransferTimeout)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline)
}

// Listen listens on addr with the limits' caps on connections (see LimitListener).
func Listen(addr string, l Limits) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return LimitListener(ln, l), nil
}

// LimitListener returns ln with the limits' caps: past MaxConns connections open at
// once, or MaxConnsPerClient from one address, a new connection is answered 503 with
// Retry-After and closed at once, so that it holds its descriptor for a moment only.
func LimitListener(ln net.Listener, l Limits) net.Listener {
	l = l.withDefaults()
	return &limitListener{Listener: ln, max: l.MaxConns, perClient: l.MaxConnsPerClient, byClient: map[string]int{}}
}

type limitListener struct {
	net.Listener
	max, perClient int

	mu       sync.Mutex
	open     int
	byClient map[string]int
}

// tooMany is what a connection over a cap reads before it is closed.
var tooMany = func() []byte {
	body := `{"error":true,"reason":"Too many connections are open; try again later."}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		l.mu.Lock()
		over := (l.max > 0 && l.open >= l.max) || (l.perClient > 0 && l.byClient[client] >= l.perClient)
		if !over {
			l.open++
			l.byClient[client]++
		}
		l.mu.Unlock()
		if over {
			go refuse(c)
			continue
		}
		return &limitedConn{Conn: c, l: l, client: client}, nil
	}
}

// refuse answers a connection over a cap and closes it, waiting on the client a moment
// at most: it reads what the client sends meanwhile, so that the close does not reset
// the connection before the client has read the answer.
func refuse(c net.Conn) {
	c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	c.Write(tooMany)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	c.Close()
}

type limitedConn struct {
	net.Conn
	l      *limitListener
	client string
	once   sync.Once
}

// CloseWrite and ReadFrom reach the TCP connection, as net/http expects of one: to send
// its FIN before closing (a client still sending then reads the answer, not a reset),
// and to send files with sendfile(2).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		if c.l.byClient[c.client]--; c.l.byClient[c.client] <= 0 {
			delete(c.l.byClient, c.client)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
