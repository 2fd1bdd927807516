package storage_test

import (
	"testing"

	"usersapi/storage"
	"usersapi/storage/storagetest"
	"usersapi/users"
)

// TestMemory runs the users.Store contract against the memory store (R-STO-1).
func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) users.Store { return storage.NewMemory() })
}
