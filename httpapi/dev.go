package httpapi

// The test mode of docs/testing-clients.md (usersd -dev), for the tests of client apps:
// the Prefer header of RFC 7240 with the parameters code and delay, the /dev/ routes
// that reset the state and move the clock, and the marks that say the mode is on. It
// is HTTP only: a forced answer is a users.Error that writeError turns into its status
// through the one table of errors.go, with the headers a real error of that status
// gets, and nothing of the request reaches the service.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"usersapi/users"
)

// Dev turns the test mode on in NewServer. Production servers leave Options.Dev nil.
type Dev struct {
	// Reset, if not nil, is POST /dev/reset (204): it puts the server back in the state
	// it started in and returns once it has. It runs inside that request, so it must not
	// wait for the request to end.
	Reset func(ctx context.Context) error
	// Clock, if not nil, is GET and POST /dev/clock.
	Clock DevClock
}

// DevClock is the service's clock in the test mode: the real time plus an offset that
// only grows.
type DevClock interface {
	Now() time.Time          // the service's time
	Offset() time.Duration   // how far Now is ahead of the real time
	Advance(d time.Duration) // moves Now forward by d > 0
}

const (
	// ModeHeader is on every answer of a server in the test mode, with the value "dev".
	ModeHeader = "Usersd-Mode"
	// MaxDelay is the longest Prefer: delay; a longer one is 400.
	MaxDelay = 10 * time.Second
	// MaxAdvance is the most one POST /dev/clock moves the clock.
	MaxAdvance = 366 * 24 * time.Hour
	// forcedRetryAfter is the Retry-After of a forced 429 or 503: a client test can retry
	// at once.
	forcedRetryAfter = time.Second
)

// forcible lists the error statuses each route can give, as docs/openapi.json lists
// its responses (docs/dev_test.go proves the two equal): the codes Prefer: code=
// may force on it. Every route can also give 405, by the convention of openapi.json's
// description (a known path with another method); forcedCodes adds it.
var forcible = map[string][]int{
	"POST /users":                  {400, 409, 413, 415, 500, 503},
	"POST /users/login":            {400, 401, 413, 415, 429, 500, 503},
	"GET /users/me":                {401, 500},
	"POST /users/me/logout":        {401, 500, 503},
	"PUT /users/me/changePassword": {400, 401, 403, 413, 415, 429, 500, 503},
	"PUT /users/me/setAccountKey":  {400, 401, 403, 413, 415, 429, 500, 503},
	"PUT /users/resetPassword":     {400, 403, 413, 415, 429, 500, 503},
	"POST /users/resetPassword":    {400, 403, 413, 415, 429, 500, 503},
	"PUT /users/me":                {400, 401, 413, 415, 500, 503},
	"PUT /users/me/device":         {400, 401, 413, 415, 500, 503},
	"GET /users/{id}":              {400, 404, 500},
	"GET /users/{$}":               {400, 500},
	"GET /users":                   {400, 500},
	"POST /users/me/photos":        {400, 401, 404, 409, 413, 415, 500, 503},
	"DELETE /users/me/photos/{id}": {400, 401, 404, 500, 503},
	"DELETE /users/me":             {401, 429, 500, 503},
	"POST /uploads":                {400, 401, 404, 409, 413, 500, 503},
	"GET /uploads/{file}":          {404, 412, 416, 500},
	"DELETE /uploads/{file}":       {401, 404, 409, 500},
	"GET /healthz":                 {500, 503},
}

// ForcibleStatuses returns, by route pattern of Routes, the error statuses the route
// can give as openapi.json lists them, without the 405 every route has.
func ForcibleStatuses() map[string][]int {
	out := make(map[string][]int, len(forcible))
	for k, v := range forcible {
		out[k] = slices.Clone(v)
	}
	return out
}

// forcedCodes returns the codes Prefer: code= may force on the route, in order.
func forcedCodes(pattern string) []int {
	codes := append(slices.Clone(forcible[pattern]), http.StatusMethodNotAllowed)
	slices.Sort(codes)
	return codes
}

// devRouter registers each route of addRoutes behind prefer.
type devRouter struct {
	mux *http.ServeMux
	log *slog.Logger
}

func (d devRouter) Handle(pattern string, h http.Handler) {
	d.mux.Handle(pattern, prefer(d.log, d.mux, pattern, h))
}

// preferences are the parameters of the request's Prefer headers that the test mode
// knows. RFC 7240 §2: names are case-insensitive, a preference given twice counts
// once, the first time, and preferences a server does not know are ignored.
type preferences struct {
	code    int           // 0 if not asked for
	delay   time.Duration // 0 if not asked for
	applied []string      // for Preference-Applied, as given
}

// parsePrefer reads the code and delay preferences of h's Prefer headers.
func parsePrefer(h http.Header) (preferences, error) {
	var p preferences
	seen := map[string]bool{}
	for _, line := range h.Values("Prefer") {
		for item := range strings.SplitSeq(line, ",") {
			item, _, _ = strings.Cut(item, ";") // parameters of a preference: none known
			name, value, _ := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.Trim(strings.TrimSpace(value), `"`)
			if (name != "code" && name != "delay") || seen[name] {
				continue
			}
			seen[name] = true
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || strings.ContainsAny(value, "+-") {
				n = -1
			}
			switch name {
			case "code":
				if n < 400 || n > 599 {
					return p, users.Errorf(users.ErrInvalid, "Prefer: code=%s is not an error status: only statuses of 400 to 599 can be forced.", value)
				}
				p.code = n
			case "delay":
				if n < 0 || time.Duration(n)*time.Millisecond > MaxDelay {
					return p, users.Errorf(users.ErrInvalid, "Prefer: delay=%s must be a whole number of milliseconds from 0 to %d.", value, MaxDelay.Milliseconds())
				}
				p.delay = time.Duration(n) * time.Millisecond
			}
			p.applied = append(p.applied, name+"="+strconv.Itoa(n))
		}
	}
	return p, nil
}

// prefer serves the route pattern, handled by h, with the request's Prefer: it waits
// the delay asked for, then answers the code asked for without calling h, or calls h.
// A preference it cannot honour is 400, with no wait. Preference-Applied names what was
// done (RFC 7240 §3).
func prefer(log *slog.Logger, mux *http.ServeMux, pattern string, h http.Handler) http.Handler {
	codes := forcedCodes(pattern)
	challenge := ""
	if s, ok := h.(schemed); ok {
		challenge = s.challenge
	}
	quiet := slog.New(slog.DiscardHandler) // a forced 500 is no failure to log
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Prefer"]; !ok {
			h.ServeHTTP(w, r)
			return
		}
		if challenge != "" {
			r = withChallenge(r, challenge)
		}
		p, err := parsePrefer(r.Header)
		if err == nil && p.code != 0 && !slices.Contains(codes, p.code) {
			err = users.Errorf(users.ErrInvalid, "Prefer: code=%d cannot be forced on %s, which can answer %s.", p.code, strings.ReplaceAll(pattern, "{$}", ""), joinCodes(codes))
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if p.delay > 0 {
			t := time.NewTimer(p.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return // the client went away
			}
		}
		if len(p.applied) > 0 {
			w.Header().Set("Preference-Applied", strings.Join(p.applied, ", "))
		}
		if p.code == 0 {
			h.ServeHTTP(w, r)
			return
		}
		log.DebugContext(r.Context(), "forced answer", "method", r.Method, "path", r.URL.Path, "status", p.code)
		switch {
		case p.code == http.StatusMethodNotAllowed:
			w.Header().Set("Allow", allowed(mux, r))
		case pattern == "GET /uploads/{file}" && (p.code == http.StatusPreconditionFailed || p.code == http.StatusRequestedRangeNotSatisfiable):
			// A real 412 or 416 has found the file; its ETag, Last-Modified and
			// Content-Range need one, and are left out.
			fileSafety(w.Header())
		}
		writeError(w, r, quiet, &users.Error{
			Kind:       kindOf(p.code),
			Reason:     fmt.Sprintf("This answer was forced by the request's Prefer: code=%d; nothing was done.", p.code),
			RetryAfter: forcedRetryAfter,
		})
	})
}

// errForced is the kind of a forced 500: it is in no table.
var errForced = errors.New("forced internal error")

// kindOf returns the error value that the table of errors.go maps to status.
func kindOf(status int) error {
	for _, s := range statuses {
		if s.status == status {
			return s.err
		}
	}
	return errForced
}

// allowed returns the Allow header the mux gives r's path for a method it has no
// route for: the methods of the path.
func allowed(mux *http.ServeMux, r *http.Request) string {
	probe := r.Clone(r.Context())
	probe.Method = "PREFER" // no route has it
	h, _ := mux.Handler(probe)
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, probe)
	return rec.header.Get("Allow")
}

func joinCodes(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ", ")
}

// devMode marks every answer of h as coming from a server in the test mode.
func devMode(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ModeHeader, "dev")
		h.ServeHTTP(w, r)
	})
}

// addDevRoutes registers the /dev/ routes of d. They are not in Routes: they exist only
// in the test mode, and openapi.json describes the API every server has.
func addDevRoutes(mux *http.ServeMux, d *Dev, log *slog.Logger) {
	if d.Reset != nil {
		mux.Handle("POST /dev/reset", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := d.Reset(r.Context()); err != nil {
				writeError(w, r, log, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	}
	if d.Clock != nil {
		mux.Handle("GET /dev/clock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, clockState(d.Clock))
		}))
		mux.Handle("POST /dev/clock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Advance *string `json:"advance"`
			}
			if err := decode(r, &req); err != nil {
				writeError(w, r, log, err)
				return
			}
			if req.Advance == nil {
				writeError(w, r, log, users.Errorf(users.ErrInvalid, "advance is required, such as \"15m\"."))
				return
			}
			d2, err := time.ParseDuration(*req.Advance)
			if err != nil || d2 <= 0 || d2 > MaxAdvance {
				writeError(w, r, log, users.Errorf(users.ErrInvalid, "advance must be a duration such as \"15m\" or \"2h30m\", above 0 and at most %s: the clock only moves forward.", MaxAdvance))
				return
			}
			d.Clock.Advance(d2)
			writeJSON(w, http.StatusOK, clockState(d.Clock))
		}))
	}
}

// clockAnswer is the answer of GET and POST /dev/clock.
type clockAnswer struct {
	Offset string    `json:"offset"` // how far the clock is ahead, such as "15m0s"
	Now    time.Time `json:"now"`    // the service's time, to the second
}

func clockState(c DevClock) clockAnswer {
	return clockAnswer{Offset: c.Offset().String(), Now: c.Now().UTC().Truncate(time.Second)}
}
