package storage_test

import (
	"fmt"
	"sync"
	"testing"

	"usersapi/storage"
	"usersapi/users"
)

// TestFileGroupCommit: concurrent writers share syncs (R-STO-3), and every one of them
// is acknowledged only once durable (the crash test proves that part).
func TestFileGroupCommit(t *testing.T) {
	s := openFile(t, t.TempDir(), nil)
	defer s.Close()
	ids := fill(t, s, "group", 64)
	before := storage.Syncs(s)
	const rounds = 10
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for i := range rounds {
				about := fmt.Sprint("round ", i)
				if err := s.UpdateUser(ctx, id, users.UserUpdate{About: &about}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	writes, syncs := int64(len(ids)*rounds), storage.Syncs(s)-before
	t.Logf("%d writes from %d writers took %d syncs", writes, len(ids), syncs)
	if syncs >= writes/2 {
		t.Errorf("%d concurrent writes took %d syncs, want them shared (fewer than %d)", writes, syncs, writes/2)
	}
}
