package users

import "context"

// Locker serializes the changes that pair an upload record with its files (see
// uploads.go) among every server that shares one Store and Files. NewMemoryLock is
// the one for a single process; package postgres has one all instances share.
type Locker interface {
	// Lock waits until the lock is free and takes it, or returns ctx's error. unlock
	// gives it back.
	Lock(ctx context.Context) (unlock func(), err error)
}

// NewMemoryLock returns a Locker for the servers of one process.
func NewMemoryLock() Locker { return make(memoryLock, 1) }

// memoryLock is held while it holds a value.
type memoryLock chan struct{}

func (l memoryLock) Lock(ctx context.Context) (func(), error) {
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
