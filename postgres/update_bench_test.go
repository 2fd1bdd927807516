package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"usersapi/internal/seed"
	"usersapi/postgres"
	"usersapi/postgres/pgtest"
	"usersapi/users"
)

// BenchmarkUpdateUser changes the profile of random users, as the load tool's update
// scenario does (a new about text; one time in eight a new name, which rewrites the
// user's search grams), at 1,000 and at 1,000,000 users: one update must not cost much
// more with more users. The million is seeded by COPY (seedSearch); USERSD_BENCH_DB
// keeps it between runs. Measure on a database seeded by an earlier run: the first run
// after seeding also pays the bulk load's write-out (docs/performance.md).
//
//	go test -run '^$' -bench BenchmarkUpdateUser -benchtime 3000x -count 3
func BenchmarkUpdateUser(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			url := pgtest.NewDB(b)
			if v := os.Getenv(benchDBEnv); v != "" && n > 1000 {
				url = v
			}
			s, err := postgres.Open(context.Background(), url, &postgres.Options{Logger: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			seedSearch(b, url, n)
			rng := rand.New(rand.NewPCG(1, 2))
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				id := 1 + rng.IntN(n)
				about := fmt.Sprintf("Changed my profile, version %d.", i)
				ch := users.UserUpdate{About: &about}
				if rng.IntN(8) == 0 {
					name := seed.Name(1 + rng.IntN(n))
					ch.Name = &name
				}
				if err := s.UpdateUser(ctx, int64(id), ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
