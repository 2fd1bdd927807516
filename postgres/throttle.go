package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"usersapi/users"
)

// Throttle is a users.Throttle that every server on one database shares (R-SEC-4):
// the failures of a key, and the checks of it under way, are rows, and each Begin and
// End runs in a transaction that holds the key's advisory lock, so the limit holds
// whichever servers the attempts reach, and counts survive restarts.
//
// A check under way is a row with a lease; a server that dies mid-check leaves a row
// that stops counting once its lease ends. While checks under way hold a key back,
// Begin's Retry is closed after retryPoll, when trying again may succeed: the database
// does not tell servers when another's check ends.
type Throttle struct {
	pool   *pgxpool.Pool
	kind   string // "password" or "key": the throttles share tables
	limit  int
	window time.Duration
}

const (
	checkLease = time.Minute           // a check under way counts at most this long
	retryPoll  = 50 * time.Millisecond // how soon a held-back check tries again
)

var _ users.Throttle = (*Throttle)(nil)

// NewThrottle returns the throttle named kind, which allows limit failures of a key
// per window.
func NewThrottle(pool *pgxpool.Pool, kind string, limit int, window time.Duration) *Throttle {
	return &Throttle{pool: pool, kind: kind, limit: limit, window: window}
}

// Begin implements users.Throttle.
func (t *Throttle) Begin(ctx context.Context, key string, now time.Time) (users.Reservation, error) {
	var r users.Reservation
	var id int64
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		failures, err := t.lockKey(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if len(failures) >= t.limit {
			r.Blocked = failures[0].Add(t.window).Sub(now)
			return nil
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM throttle_checks WHERE kind = $1 AND key = $2 AND expires > $3`,
			t.kind, key, now).Scan(&pending); err != nil {
			return err
		}
		if len(failures)+pending >= t.limit {
			return nil
		}
		return tx.QueryRow(ctx, `INSERT INTO throttle_checks (kind, key, expires) VALUES ($1, $2, $3) RETURNING id`,
			t.kind, key, now.Add(checkLease)).Scan(&id)
	})
	if err != nil {
		return users.Reservation{}, dbError("throttle", err)
	}
	switch {
	case r.Blocked > 0:
	case id == 0:
		retry := make(chan struct{})
		time.AfterFunc(retryPoll, func() { close(retry) })
		r.Retry = retry
	default:
		r.End = func(ctx context.Context, now time.Time, o users.Outcome) error { return t.end(ctx, key, id, now, o) }
	}
	return r, nil
}

// lockKey takes key's lock until tx ends and returns its failures still in the
// window at now, oldest first. (Two keys whose hashes collide share a lock, which
// only makes them wait for each other.)
func (t *Throttle) lockKey(ctx context.Context, tx pgx.Tx, key string, now time.Time) ([]time.Time, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "throttle:"+t.kind+":"+key); err != nil {
		return nil, err
	}
	var failures []time.Time
	err := tx.QueryRow(ctx, `SELECT failures FROM throttle_keys WHERE kind = $1 AND key = $2`, t.kind, key).Scan(&failures)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	i := 0
	for i < len(failures) && !failures[i].Add(t.window).After(now) {
		i++
	}
	return failures[i:], nil
}

// end ends the check id of key with its outcome.
func (t *Throttle) end(ctx context.Context, key string, id int64, now time.Time, o users.Outcome) error {
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		failures, err := t.lockKey(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM throttle_checks WHERE id = $1`, id); err != nil {
			return err
		}
		switch o {
		case users.Failed:
			failures = append(failures, now.UTC())
			if len(failures) > t.limit {
				failures = failures[len(failures)-t.limit:]
			}
		case users.Succeeded:
			failures = nil
		}
		return t.store(ctx, tx, key, failures)
	})
	if err == nil && o == users.Failed {
		err = t.Sweep(ctx, now)
	}
	return dbError("throttle", err)
}

// store writes key's failures; a key with none left has no row.
func (t *Throttle) store(ctx context.Context, tx pgx.Tx, key string, failures []time.Time) error {
	if len(failures) > 0 {
		_, err := tx.Exec(ctx, `INSERT INTO throttle_keys (kind, key, failures, newest) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, key) DO UPDATE SET failures = excluded.failures, newest = excluded.newest`,
			t.kind, key, failures, slices.MaxFunc(failures, time.Time.Compare))
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM throttle_keys WHERE kind = $1 AND key = $2`, t.kind, key)
	return err
}

// Clear implements users.Throttle.
func (t *Throttle) Clear(ctx context.Context, key string) error {
	_, err := t.pool.Exec(ctx, `DELETE FROM throttle_keys WHERE kind = $1 AND key = $2`, t.kind, key)
	return dbError("throttle", err)
}

// Sweep removes up to 100 keys whose failures all left the window at now, and up to
// 100 checks whose lease ended, so that made-up usernames and dead servers leave
// nothing behind for long. Each failure sweeps; rows a transaction holds are skipped.
func (t *Throttle) Sweep(ctx context.Context, now time.Time) error {
	_, err := t.pool.Exec(ctx, `DELETE FROM throttle_keys WHERE (kind, key) IN
		(SELECT kind, key FROM throttle_keys WHERE kind = $1 AND newest < $2 LIMIT 100 FOR UPDATE SKIP LOCKED)`,
		t.kind, now.Add(-t.window))
	if err == nil {
		_, err = t.pool.Exec(ctx, `DELETE FROM throttle_checks WHERE id IN
			(SELECT id FROM throttle_checks WHERE kind = $1 AND expires < $2 LIMIT 100 FOR UPDATE SKIP LOCKED)`, t.kind, now)
	}
	return dbError("throttle", err)
}

// dbError turns a database error of the shared state (throttle, files, lock) into
// what the Service expects, as Store.fail does for the store's: a database that
// cannot be reached is ErrBusy (503); anything else is wrapped, or nil.
func dbError(what string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if unavailable(err) {
		return errUnavailable
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}
