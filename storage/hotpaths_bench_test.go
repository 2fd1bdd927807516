package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// Benchmarks of the memory store's share of the hot paths (docs/performance.md, "Hot
// paths"), on the data set of cmd/usersload: 100,000 users with 10 sessions each,
// seeded once per process.
//
//	go test -run '^$' -bench 'SessionByToken|MemoryWrites' ./storage

var (
	hotOnce  sync.Once
	hotStore *storage.Memory
	hotSet   seed.Set
	hotNext  atomic.Int64 // numbers of the users op=createUser makes
)

const (
	hotUsers    = 100_000
	hotSessions = 10
)

func hotSeeded(b *testing.B) (*storage.Memory, seed.Set) {
	b.Helper()
	hotOnce.Do(func() {
		ctx := context.Background()
		hash, err := seed.PasswordHash(ctx, auth.MinIterations)
		if err != nil {
			b.Fatal(err)
		}
		hotSet = seed.Set{Key: "bench", PasswordHash: hash, Sessions: hotSessions, Now: time.Now().UTC().Truncate(time.Second)}
		hotStore = storage.NewMemory()
		if _, err := seed.Fill(ctx, hotStore, hotSet, 1, hotUsers, nil); err != nil {
			b.Fatal(err)
		}
	})
	if hotStore == nil {
		b.Fatal("seeding failed")
	}
	return hotStore, hotSet
}

// BenchmarkSessionByToken is the store's part of every Bearer request: one map lookup
// among a million sessions by the token's digest (R-SEC-2).
func BenchmarkSessionByToken(b *testing.B) {
	m, set := hotSeeded(b)
	r := rand.New(rand.NewPCG(1, 2))
	digests := make([]string, 1<<16)
	for i := range digests {
		digests[i], _ = auth.Tokens{}.Digest(set.Token(1+r.IntN(hotUsers), r.IntN(hotSessions)))
	}
	ctx := context.Background()
	b.Run("sessions=1M", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := m.SessionByToken(ctx, digests[i%len(digests)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkMemoryWrites is the memory store's cost of the writes behind the API:
// createSession (a login, R-LOG-2), touchSession (the once-a-minute record of use,
// R-SES-1), updateUser (a new about, R-UPD-1) and createUser (a registration). Each
// takes the store's write lock, so their cost bounds the writes a second of any store.
func BenchmarkMemoryWrites(b *testing.B) {
	m, set := hotSeeded(b)
	ctx := context.Background()
	b.Run("op=createSession", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			n := 1 + i%hotUsers
			// A new session on the user's login device, which replaces the one of the
			// previous round: the user keeps 11 sessions.
			s := set.Session(n, hotSessions)
			s.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			s.TokenHash = fmt.Sprintf("%064x", i)
			s.UserID = int64(n)
			if _, err := m.CreateSession(ctx, s, users.MaxSessions); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=touchSession", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			s := set.Session(1+i%hotUsers, i%hotSessions)
			at := set.Now.Add(time.Duration(i) * time.Second)
			if err := m.UpdateSession(ctx, s.ID, users.SessionUpdate{UpdatedAt: &at}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=updateUser", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			about := "About text " + strconv.Itoa(i)
			if err := m.UpdateUser(ctx, int64(1+i%hotUsers), users.UserUpdate{About: &about}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=createUser", func(b *testing.B) {
		for b.Loop() {
			n := 1_000_000 + int(hotNext.Add(1)) // a new user every time, across runs
			if _, err := m.CreateUser(ctx, set.User(n), set.Session(n, 0)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
