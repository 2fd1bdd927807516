// Package httpapi serves the Users API over HTTP: routing (routes.go is the whole
// surface), decoding requests, encoding answers, and the one table from domain errors
// to statuses. It holds no business rule: every decision is the users.Service's.
//
// It may import users and the standard library; never storage, auth or cmd.
package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"usersapi/users"
)

// Options configures NewServer.
type Options struct {
	// Logger receives request failures and, at debug level, every request.
	Logger *slog.Logger
	// TrustedProxy makes the server take the client's address from the last entry of
	// X-Forwarded-For, as a reverse proxy in front of it appends it (R-OBJ-4). Leave it
	// off when clients reach the server directly, or they can claim any address.
	TrustedProxy bool
	// CORSOrigins lists the browser origins allowed to call the API ("*" for any).
	CORSOrigins []string
	// Dev, if not nil, turns on the test mode of docs/testing-clients.md (dev.go):
	// Prefer: code= and delay=, the /dev/ routes, and the mode on every answer.
	Dev *Dev
}

// NewServer returns the http.Handler of the whole API.
func NewServer(svc *users.Service, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	if o.Dev != nil {
		addRoutes(devRouter{mux, o.Logger}, svc, o)
		addDevRoutes(mux, o.Dev, o.Logger)
	} else {
		addRoutes(mux, svc, o)
	}
	var h http.Handler = jsonFallbacks(o.Logger, mux)
	h = recoverPanics(o.Logger, h)
	if len(o.CORSOrigins) > 0 {
		h = cors(o.CORSOrigins, o.Dev != nil, h)
	}
	if o.Dev != nil {
		h = devMode(h)
	}
	return logRequests(o.Logger, h)
}

// clientIP returns the address recorded on a session (R-OBJ-4).
func clientIP(r *http.Request, trustedProxy bool) string {
	if trustedProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// jsonFallbacks gives the mux's own 404 and 405 answers the JSON error body
// (R-WIRE-5), keeping the Allow header the mux computes.
func jsonFallbacks(log *slog.Logger, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No route matched: let the mux decide between 404 and 405 (and redirects for
		// unclean paths), but replace its text body with ours.
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			writeError(w, r, log, users.Errorf(users.ErrNotFound, "There is no such route."))
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, r, log, &users.Error{Kind: errMethodNotAllowed, Reason: "This route does not allow the method " + r.Method + "."})
		default:
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
		}
	})
}

// statusRecorder keeps the header and status a handler writes and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// recoverPanics turns a panic in a handler into a logged 500 with the JSON body.
func recoverPanics(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, r, log, errPanic)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// errPanic is in no table: it is a 500.
var errPanic = errors.New("handler panicked")

// cors answers preflight requests and marks answers readable by the allowed origins,
// so that web clients served from another origin (a dev server) can call the API. In
// the test mode they may send Prefer and read what answers to it.
func cors(origins []string, dev bool, h http.Handler) http.Handler {
	any := slices.Contains(origins, "*")
	allowHeaders, exposeHeaders := "Authorization, Content-Type, File-Name", "Retry-After, WWW-Authenticate, Content-Length"
	if dev {
		allowHeaders += ", Prefer"
		exposeHeaders += ", Allow, Preference-Applied, " + ModeHeader
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !(any || slices.Contains(origins, origin)) {
			h.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Add("Vary", "Origin")
		hd.Set("Access-Control-Expose-Headers", exposeHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE")
			hd.Set("Access-Control-Allow-Headers", allowHeaders)
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// logRequests logs every request at debug level; it costs nothing when that level is off.
func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
