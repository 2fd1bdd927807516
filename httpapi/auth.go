package httpapi

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"usersapi/users"
)

// The WWW-Authenticate challenges of R-WIRE-6.
const (
	bearerChallenge = `Bearer realm="users"`
	basicChallenge  = `Basic realm="users", charset="UTF-8"`
)

// schemeKey carries a route's challenge to writeError, which adds it to a 401.
type schemeKey struct{}

// withScheme marks the routes behind h as using the challenge.
func withScheme(challenge string, h http.Handler) http.Handler {
	return schemed{challenge: challenge, h: h}
}

// schemed is a route whose 401 answers carry challenge; the test mode (dev.go) reads
// it to give a forced 401 the same header.
type schemed struct {
	challenge string
	h         http.Handler
}

func (s schemed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.ServeHTTP(w, withChallenge(r, s.challenge))
}

// withChallenge returns r marked for writeError as asking for challenge on a 401.
func withChallenge(r *http.Request, challenge string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), schemeKey{}, challenge))
}

// authedHandler is a handler that runs for an authenticated session; token is the
// caller's own access token.
type authedHandler func(w http.ResponseWriter, r *http.Request, sess users.Session, token string)

// bearer authenticates the request's Bearer token and passes its session on to h.
func bearer(svc *users.Service, log *slog.Logger, h authedHandler) http.Handler {
	return withToken(log, func(w http.ResponseWriter, r *http.Request, token string) {
		sess, err := svc.Authenticate(r.Context(), token)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		h(w, r, sess, token)
	})
}

// withToken passes the request's Bearer token on to h, which authenticates it itself:
// GET /users/me does, to read the session and its user in one step.
func withToken(log *slog.Logger, h func(w http.ResponseWriter, r *http.Request, token string)) http.Handler {
	return withScheme(bearerChallenge, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, once := singleHeader(r.Header, "Authorization")
		token, ok := bearerToken(auth)
		if !ok || !once {
			writeError(w, r, log, errNoBearer)
			return
		}
		h(w, r, token)
	}))
}

var (
	errNoBearer = users.Errorf(users.ErrUnauthorized, "An Authorization header with a Bearer token is required.")
	errNoBasic  = users.Errorf(users.ErrUnauthorized, "An Authorization header with Basic credentials is required.")
)

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// basicCredentials returns the credentials of an "Authorization: Basic …" header. It
// refuses what HTTP Basic cannot honestly carry: bad base64, no colon, an empty
// username, invalid UTF-8 and control characters.
func basicCredentials(h string) (users.Credentials, bool) {
	scheme, enc, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return users.Credentials{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil || !utf8.Valid(raw) {
		return users.Credentials{}, false
	}
	username, password, ok := strings.Cut(string(raw), ":")
	if !ok || username == "" {
		return users.Credentials{}, false
	}
	for _, r := range string(raw) {
		if r < 0x20 || r == 0x7f {
			return users.Credentials{}, false
		}
	}
	return users.Credentials{Username: username, Password: password}, true
}

// basic passes the request's Basic credentials on to h.
func basic(log *slog.Logger, h func(w http.ResponseWriter, r *http.Request, c users.Credentials)) http.Handler {
	return withScheme(basicChallenge, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, once := singleHeader(r.Header, "Authorization")
		c, ok := basicCredentials(auth)
		if !ok || !once {
			writeError(w, r, log, errNoBasic)
			return
		}
		h(w, r, c)
	}))
}

// singleHeader returns the value of a header that may be given at most once, and false
// if the request gives it more than once: which of two Authorization or Content-Type
// lines counts would be a guess, so such a request is malformed (401 for
// Authorization, 400 for the others), never read by its first line.
func singleHeader(h http.Header, name string) (string, bool) {
	v := h.Values(name)
	if len(v) > 1 {
		return "", false
	}
	if len(v) == 0 {
		return "", true
	}
	return v[0], true
}
