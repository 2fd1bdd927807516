package users

import (
	"errors"
	"fmt"
	"time"
)

// The error values of the domain. Every failure the service reports wraps exactly one
// of them; httpapi maps each to one HTTP status in a single table (R-WIRE-5).
var (
	// ErrInvalid means the request's shape or a field breaks its rule (HTTP 400).
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized means credentials are missing, malformed or unknown (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means a password, old password or account key in the body is wrong (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound means the user, session, photo or file does not exist (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the username or file name belongs to someone else, or the state
	// changed under the request (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge means a body or upload is over its size limit (HTTP 413).
	ErrTooLarge = errors.New("too large")
	// ErrTooManyAttempts means too many failed attempts for this account (HTTP 429).
	ErrTooManyAttempts = errors.New("too many failed attempts")
	// ErrBusy means the server is saturated and the client should retry later (HTTP 503).
	ErrBusy = errors.New("server busy")
)

// Error carries a reason meant for people, and optionally how long to wait before
// retrying, on top of one of the error values above. errors.Is(err, ErrInvalid) and
// friends see through it.
type Error struct {
	Kind       error         // one of the Err… values
	Reason     string        // one English sentence, safe to show to clients
	RetryAfter time.Duration // for ErrTooManyAttempts and ErrBusy; 0 otherwise
}

// Error returns the reason, so that the error reads as the sentence a client sees.
func (e *Error) Error() string { return e.Reason }

// Unwrap returns the error value the reason belongs to.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted reason.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Reason returns the client-facing sentence of err: its own when it is an *Error,
// otherwise a generic one for its kind. Nothing internal ever leaks (R-WIRE-4).
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	switch {
	case errors.Is(err, ErrInvalid):
		return "The request is invalid."
	case errors.Is(err, ErrUnauthorized):
		return "Authentication is required."
	case errors.Is(err, ErrForbidden):
		return "The secret given is wrong."
	case errors.Is(err, ErrNotFound):
		return "Not found."
	case errors.Is(err, ErrConflict):
		return "The name is already taken."
	case errors.Is(err, ErrTooLarge):
		return "The request body is too large."
	case errors.Is(err, ErrTooManyAttempts):
		return "Too many failed attempts; try again later."
	case errors.Is(err, ErrBusy):
		return "The server is busy; try again later."
	}
	return "Something went wrong on the server."
}

// RetryAfter returns how long the client should wait before retrying, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
