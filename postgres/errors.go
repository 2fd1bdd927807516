package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"usersapi/users"
)

// errUnavailable answers a call while the database cannot be reached: 503 with
// Retry-After, as the file store answers while its disk refuses writes.
var errUnavailable = &users.Error{Kind: users.ErrBusy, RetryAfter: 5 * time.Second,
	Reason: "The server cannot reach its database right now; try again later."}

// errReadOnly answers /healthz while the database takes no writes (a standby, or
// default_transaction_read_only).
var errReadOnly = &users.Error{Kind: users.ErrBusy, RetryAfter: 5 * time.Second,
	Reason: "The server's database takes no writes right now; try again later."}

// errClosed answers calls after Close.
var errClosed = errors.New("postgres: the store is closed")

// fail turns an error of the driver into what the store's callers expect: nil and
// the users error values pass as they are; ctx's own end is returned as is; a
// database that cannot be reached, or refuses for a passing reason (too many
// connections, a restart, a deadlock), is ErrBusy; a unique violation is ErrConflict.
// Anything else is an internal error (500), with the driver's message.
func (s *Store) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ue *users.Error
	if errors.As(err, &ue) {
		return err
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	if s.closed.Load() {
		return errClosed
	}
	if isUnique(err) {
		return users.Errorf(users.ErrConflict, "The name is already taken.")
	}
	if unavailable(err) {
		s.warn("postgres: the database cannot be reached", err)
		return errUnavailable
	}
	return fmt.Errorf("postgres: %w", err)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// unavailable reports whether err means that the database cannot serve the call right
// now, though it may again soon.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources: too many connections, disk full
			strings.HasPrefix(pe.Code, "57P"),      // shutting down, starting up
			pe.Code == "25006",                     // read-only transaction: a standby
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err)
}

// warnLimiter lets one warning through every 10 seconds, so that a database that is
// down for a while is logged, not once per request.
type warnLimiter struct {
	mu   sync.Mutex
	last time.Time
}

func (s *Store) warn(msg string, err error) {
	s.warned.mu.Lock()
	now := time.Now()
	ok := now.Sub(s.warned.last) >= 10*time.Second
	if ok {
		s.warned.last = now
	}
	s.warned.mu.Unlock()
	if ok {
		s.log.Warn(msg, "database", s.where, "err", err)
	}
}
