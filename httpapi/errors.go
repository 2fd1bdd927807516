package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"usersapi/users"
)

// Errors that only HTTP knows of. The domain's errors are in package users.
var (
	errUnsupportedMediaType = errors.New("unsupported media type")
	errMethodNotAllowed     = errors.New("method not allowed")
	errPreconditionFailed   = errors.New("precondition failed")
	errRangeNotSatisfiable  = errors.New("range not satisfiable")
)

// statuses is the one table from error values to HTTP statuses (R-WIRE-5). Handlers
// never choose a failure status themselves: they return an error and writeError looks
// it up here. Anything not in the table is a 500.
var statuses = []struct {
	err    error
	status int
}{
	{users.ErrInvalid, http.StatusBadRequest},
	{users.ErrUnauthorized, http.StatusUnauthorized},
	{users.ErrForbidden, http.StatusForbidden},
	{users.ErrNotFound, http.StatusNotFound},
	{errMethodNotAllowed, http.StatusMethodNotAllowed},
	{users.ErrConflict, http.StatusConflict},
	{users.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{errUnsupportedMediaType, http.StatusUnsupportedMediaType},
	{errPreconditionFailed, http.StatusPreconditionFailed},
	{errRangeNotSatisfiable, http.StatusRequestedRangeNotSatisfiable},
	{users.ErrTooManyAttempts, http.StatusTooManyRequests},
	{users.ErrBusy, http.StatusServiceUnavailable},
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// errorBody is the error object of R-WIRE-4.
type errorBody struct {
	Error  bool   `json:"error"`
	Reason string `json:"reason"`
}

// writeError answers with err's status and the error body (R-WIRE-4). A 500 says only
// that something went wrong; the detail goes to the log. A 401 names the route's
// scheme (R-WIRE-6), and 429/503 say when to retry.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusOf(err)
	reason := users.Reason(err)
	switch status {
	case http.StatusInternalServerError:
		if errors.Is(err, context.Canceled) {
			// The client went away; there is nobody to answer.
			return
		}
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusUnauthorized:
		if scheme, ok := r.Context().Value(schemeKey{}).(string); ok {
			w.Header().Set("WWW-Authenticate", scheme)
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		secs := int(math.Ceil(users.RetryAfter(err).Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	writeJSON(w, status, errorBody{Error: true, Reason: reason})
}
