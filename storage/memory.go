package storage

import "usersapi/users"

// Memory is a users.Store that keeps everything in RAM and loses it when the process
// ends (R-STO-1). It is safe for concurrent use; reads run in parallel.
type Memory struct {
	db
}

var _ users.Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{db: db{st: newState()}}
}

// Close implements users.Store. The data stays readable and writable: a Memory holds
// nothing to release.
func (m *Memory) Close() error { return nil }
