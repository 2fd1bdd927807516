package users_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// Benchmarks of the hot paths of the service (docs/performance.md, "Hot paths"), on
// stores seeded with the data set of cmd/usersload. Stores are seeded once per process;
// those of a million users only when the -bench pattern names "1M", as seeding them
// takes seconds and a GiB:
//
//	go test -run '^$' -bench . ./users
//	go test -run '^$' -bench 'Search/users=1M' ./users

// hotEnv is a seeded memory store with a service on it.
type hotEnv struct {
	store *storage.Memory
	svc   *users.Service
	set   seed.Set
	n     int
}

var (
	hotMu   sync.Mutex
	hotEnvs = map[[2]int]*hotEnv{}
)

// hotSeeded returns a store of n users with the given sessions each, made once.
func hotSeeded(b *testing.B, n, sessions int) *hotEnv {
	b.Helper()
	if n >= 1_000_000 && !hotBigSelected() {
		b.Skip("names 1M in -bench to run: seeding a million users takes a while")
	}
	hotMu.Lock()
	defer hotMu.Unlock()
	if e, ok := hotEnvs[[2]int{n, sessions}]; ok {
		return e
	}
	ctx := context.Background()
	hash, err := seed.PasswordHash(ctx, auth.MinIterations)
	if err != nil {
		b.Fatal(err)
	}
	e := &hotEnv{store: storage.NewMemory(), n: n}
	e.set = seed.Set{Key: "bench", PasswordHash: hash, Sessions: sessions, Photos: 2, Now: time.Now().UTC().Truncate(time.Second)}
	start := time.Now()
	if _, err := seed.Fill(ctx, e.store, e.set, 1, n, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users with %d sessions each in %v", n, sessions, time.Since(start).Round(time.Millisecond))
	e.svc = e.service(func() time.Time { return e.set.Now })
	hotEnvs[[2]int{n, sessions}] = e
	runtime.GC()
	return e
}

// service returns a service on the store with the clock. The seeded sessions were
// used at set.Now: with that clock, authenticating never records a use (R-SES-1).
func (e *hotEnv) service(now func() time.Time) *users.Service {
	return users.NewService(users.Config{
		Store:  e.store,
		Hasher: auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens: auth.Tokens{},
		Now:    now,
	})
}

func hotBigSelected() bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), "1M")
}

func hotSize(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1000)
}

// hotPercentiles reports the median and 99th percentile of the timed calls.
func hotPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	p := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))]) / 1e6 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkAuthenticate is the token lookup of every Bearer request (R-SEC-2): a
// SHA-256 of the token and a map lookup among a million sessions (100,000 users with
// 10 each). With op=lookup the session was used less than a minute ago, so nothing is
// written (R-SES-1); with op=touch the clock moves a minute per call, so every call
// also records the use: the cost of the first request of a session in a minute.
func BenchmarkAuthenticate(b *testing.B) {
	e := hotSeeded(b, 100_000, 10)
	r := rand.New(rand.NewPCG(1, 2))
	tokens := make([]string, 1<<16)
	for i := range tokens {
		tokens[i] = e.set.Token(1+r.IntN(e.n), r.IntN(10))
	}
	ctx := context.Background()
	b.Run("sessions=1M/op=lookup", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := e.svc.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("sessions=1M/op=lookup/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(len(tokens))
			for pb.Next() {
				if _, err := e.svc.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
	b.Run("sessions=1M/op=touch", func(b *testing.B) {
		now := e.set.Now
		svc := e.service(func() time.Time { return now })
		i := 0
		for b.Loop() {
			now = now.Add(users.TouchInterval)
			if _, err := svc.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkSearch is R-SRCH-1 on 100,000 and 1,000,000 users, through the store alone
// and through the service, which adds each result's sessions (for lastSeen) and its
// UserInfo. Each query kind cycles through 64 queries of seed.Query; p50-ms and
// p99-ms are over single calls.
func BenchmarkSearch(b *testing.B) {
	kinds := []string{seed.QueryFirst, seed.QueryLast, seed.QueryUsername, seed.QueryMiss}
	for _, n := range []int{100_000, 1_000_000} {
		b.Run("users="+hotSize(n), func(b *testing.B) {
			e := hotSeeded(b, n, 1)
			ctx := context.Background()
			for _, kind := range kinds {
				r := rand.New(rand.NewPCG(3, 4))
				qs := make([]string, 64)
				for i := range qs {
					qs[i] = seed.Query(r, kind, n)
				}
				for _, via := range []string{"store", "service"} {
					b.Run("q="+kind+"/via="+via, func(b *testing.B) {
						var times []time.Duration
						found := 0
						i := 0
						for b.Loop() {
							q := qs[i%len(qs)]
							i++
							start := time.Now()
							var k int
							if via == "store" {
								got, err := e.store.SearchUsers(ctx, q, users.MaxSearch)
								if err != nil {
									b.Fatal(err)
								}
								k = len(got)
							} else {
								got, err := e.svc.Search(ctx, q)
								if err != nil {
									b.Fatal(err)
								}
								k = len(got)
							}
							times = append(times, time.Since(start))
							found += k
						}
						hotPercentiles(b, times)
						b.ReportMetric(float64(found)/float64(len(times)), "results/op")
					})
				}
			}
		})
	}
}

// BenchmarkMe is GET /users/me without HTTP: the user, its sessions in order, and the
// private UserInfo (R-OBJ-3), for a user with 5 sessions and 2 photos.
func BenchmarkMe(b *testing.B) {
	e := hotSeeded(b, 1000, 5)
	ctx := context.Background()
	token := e.set.Token(42, 0)
	sess, err := e.svc.Authenticate(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.svc.Me(ctx, sess, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUser is GET /users/<id> without HTTP: the public UserInfo (R-GET-1).
func BenchmarkUser(b *testing.B) {
	e := hotSeeded(b, 100_000, 1)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := e.svc.User(ctx, int64(1+i%e.n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is a login at the lowest PBKDF2 count (1,000), next to that hash
// alone: the difference is what a login costs besides its hash. At the default
// 600,000 iterations the hash is 600 times dearer and the rest is unchanged.
func BenchmarkLogin(b *testing.B) {
	e := hotSeeded(b, 100_000, 1)
	ctx := context.Background()
	b.Run(fmt.Sprintf("iterations=%d", auth.MinIterations), func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			n := 1 + i%e.n
			dev := e.set.DeviceID(n, 1)
			read := func() (users.LoginRequest, error) {
				return users.LoginRequest{DeviceInfo: &users.DeviceInfo{ID: dev, Name: "bench"}}, nil
			}
			if _, err := e.svc.Login(ctx, users.Credentials{Username: seed.Username(n), Password: seed.Password}, read, "192.0.2.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("pbkdf2-only/iterations=%d", auth.MinIterations), func(b *testing.B) {
		salt := make([]byte, 16)
		for b.Loop() {
			pbkdf2.Key(sha256.New, seed.Password, salt, auth.MinIterations, 32)
		}
	})
}

// BenchmarkUpdateUser is PUT /users/me without HTTP (R-UPD-1): a new about text, and
// with name=changed a new name, which rewrites the user's block of the search index.
func BenchmarkUpdateUser(b *testing.B) {
	e := hotSeeded(b, 100_000, 1)
	ctx := context.Background()
	for _, name := range []string{"same", "changed"} {
		b.Run("name="+name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				n := 1 + i%e.n
				about := fmt.Sprintf("About text %d.", i)
				req := users.UpdateUserRequest{About: &about}
				if name == "changed" {
					nm := seed.Name(n + i)
					req.Name = &nm
				}
				if err := e.svc.UpdateUser(ctx, users.Session{UserID: int64(n)}, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
