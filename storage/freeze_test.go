package storage

import (
	"fmt"
	"testing"
	"time"

	"usersapi/users"
)

// BenchmarkFreeze is the part of a compaction that holds the write lock, at a million
// users: taking the list of entry pointers.
func BenchmarkFreeze(b *testing.B) {
	st := newState()
	for i := 1; i <= 1_000_000; i++ {
		name := fmt.Sprintf("user%07d", i)
		commit, err := st.prepare(&record{Op: opCreateUser, User: &users.User{ID: int64(i), Username: name, Name: name, CreatedAt: time.Now()},
			Session: &users.Session{ID: "s" + name, UserID: int64(i), TokenHash: "t" + name}})
		if err != nil {
			b.Fatal(err)
		}
		commit()
	}
	fz := newFrozen(&db{st: st})
	for b.Loop() {
		st.freeze(fz)
	}
}
