package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"usersapi/users"
)

// uploadLockKey is the advisory lock that Lock takes.
const uploadLockKey = "usersd:uploads"

// Lock is the users.Locker of every server on one database: a session advisory lock
// held on a connection of its own while the lock is held. If that connection is lost,
// so is the lock, and the holder's next statements fail with it.
type Lock struct {
	pool *pgxpool.Pool
}

var _ users.Locker = (*Lock)(nil)

// NewLock returns the upload lock of the database of pool.
func NewLock(pool *pgxpool.Pool) *Lock { return &Lock{pool: pool} }

// Lock implements users.Locker.
func (l *Lock) Lock(ctx context.Context) (func(), error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil, dbError("lock", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, uploadLockKey); err != nil {
		// The lock may have been granted as the wait was cancelled: closing the
		// connection gives it back whatever happened.
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, dbError("lock", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, uploadLockKey); err != nil {
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}
