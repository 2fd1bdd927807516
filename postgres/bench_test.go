package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"usersapi/internal/seed"
	"usersapi/postgres"
	"usersapi/postgres/pgtest"
)

// benchDBEnv names a database kept between runs of BenchmarkSearch1M: seeded on the
// first run (if it holds no user), used as it is after. Without it every run seeds a
// new database, which takes minutes.
const benchDBEnv = "USERSD_BENCH_DB"

// BenchmarkSearch1M runs R-SRCH-1 searches of every kind on a million users seeded
// with internal/seed's names, and reports the median and the 99th percentile of each
// kind. Queries are drawn anew for every call:
//
//	one       one letter a-z (and a few accented ones)
//	two       two letters a-z: most pairs are rare or match nobody
//	first     3-5 letters starting a first name: many usernames start with it
//	last      4 letters of a last name: many names hold it
//	three     three letters a-z: mostly rare
//	punct     three characters with an apostrophe, space or hyphen in the middle,
//	          which give the trigram index nothing to look up
//	username  a whole username: one exact match
//	miss      six letters that nobody has
//
// go test -run '^$' -bench BenchmarkSearch1M -benchtime 300x
//
// USERSD_BENCH_USERS sets another number of users, for a quick run.
func BenchmarkSearch1M(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("USERSD_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("USERSD_BENCH_USERS=%q is not a number of users", v)
		}
	}
	url := os.Getenv(benchDBEnv)
	if url == "" {
		url = pgtest.NewDB(b)
	}
	s, err := postgres.Open(context.Background(), url, &postgres.Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seedSearch(b, url, n)

	letters := "abcdefghijklmnopqrstuvwxyz"
	pick := func(r *rand.Rand, s string) string { return string(s[r.IntN(len(s))]) }
	kinds := []struct {
		name string
		q    func(r *rand.Rand) string
	}{
		{"one", func(r *rand.Rand) string {
			if r.IntN(10) == 0 {
				return []string{"é", "ü", "ø", "í"}[r.IntN(4)]
			}
			return pick(r, letters)
		}},
		{"two", func(r *rand.Rand) string { return pick(r, letters) + pick(r, letters) }},
		{"first", func(r *rand.Rand) string { return seed.Query(r, seed.QueryFirst, n) }},
		{"last", func(r *rand.Rand) string { return seed.Query(r, seed.QueryLast, n) }},
		{"three", func(r *rand.Rand) string { return pick(r, letters) + pick(r, letters) + pick(r, letters) }},
		{"punct", func(r *rand.Rand) string { return pick(r, letters) + pick(r, "' -") + pick(r, letters) }},
		{"username", func(r *rand.Rand) string { return seed.Query(r, seed.QueryUsername, n) }},
		{"miss", func(r *rand.Rand) string { return seed.Query(r, seed.QueryMiss, n) }},
	}
	ctx := context.Background()
	for _, k := range kinds {
		b.Run("q="+k.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, uint64(len(k.name))))
			var times []time.Duration
			var slowest string
			var worst time.Duration
			for b.Loop() {
				q := k.q(r)
				start := time.Now()
				if _, err := s.SearchUsers(ctx, q, 50); err != nil {
					b.Fatal(err)
				}
				d := time.Since(start)
				times = append(times, d)
				if d > worst {
					worst, slowest = d, q
				}
			}
			b.Logf("slowest: %q in %v", slowest, worst)
			slices.Sort(times)
			p := func(f float64) float64 {
				return float64(times[min(len(times)-1, int(f*float64(len(times))))].Microseconds()) / 1000
			}
			b.ReportMetric(p(0.50), "p50-ms")
			b.ReportMetric(p(0.99), "p99-ms")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// seedSearch fills an empty database with n users of internal/seed by COPY (no
// sessions: searches do not read them), and their user_grams rows, sorted so that
// the primary key grows at its end. The trigram indexes are dropped and made again
// afterwards from their own definitions, which is much faster than keeping them up
// to date row by row.
func seedSearch(b *testing.B, url string, n int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var have int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == int64(n) {
		return
	} else if have != 0 {
		b.Fatalf("the database holds %d users, neither none nor %d", have, n)
	}
	start := time.Now()
	exec := func(sql string) {
		b.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`SET maintenance_work_mem = '1GB'`)
	rows, _ := conn.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'users' AND indexdef LIKE '%USING gin%'`)
	type index struct{ name, def string }
	gins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		return i, r.Scan(&i.name, &i.def)
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, i := range gins {
		exec(`DROP INDEX ` + pgx.Identifier{i.name}.Sanitize())
	}

	set := seed.Set{Key: "bench", PasswordHash: "pbkdf2-sha256$600000$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	i := 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "username", "name", "name_lower", "about", "password_hash", "account_key_hash", "created_at", "photos"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			u := set.User(i)
			return []any{int64(i), u.Username, u.Name, strings.ToLower(u.Name), []byte(u.About), u.PasswordHash, "", u.CreatedAt, "[]"}, nil
		}))
	if err != nil {
		b.Fatalf("COPY users: %v", err)
	}
	exec(fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('users', 'id'), %d)`, n))
	b.Logf("users copied in %v", time.Since(start))

	type key struct {
		gram   string
		prefix bool
	}
	posting := map[key][]int32{}
	for i := 1; i <= n; i++ {
		grams, prefix := postgres.GramsOf(seed.Username(i), strings.ToLower(seed.Name(i)))
		for j, g := range grams {
			k := key{g, prefix[j]}
			posting[k] = append(posting[k], int32(i))
		}
	}
	keys := make([]key, 0, len(posting))
	for k := range posting {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.gram, b.gram); c != 0 {
			return c
		}
		if a.prefix == b.prefix {
			return 0
		}
		if !a.prefix {
			return -1
		}
		return 1
	})
	ki, pi := 0, 0
	total, err := conn.CopyFrom(ctx, pgx.Identifier{"user_grams"}, []string{"gram", "prefix", "user_id"},
		pgx.CopyFromFunc(func() ([]any, error) {
			for ki < len(keys) && pi == len(posting[keys[ki]]) {
				ki, pi = ki+1, 0
			}
			if ki == len(keys) {
				return nil, nil
			}
			k := keys[ki]
			pi++
			return []any{k.gram, k.prefix, int64(posting[k][pi-1])}, nil
		}))
	if err != nil {
		b.Fatalf("COPY user_grams: %v", err)
	}
	b.Logf("%d user_grams rows copied, %v so far", total, time.Since(start))
	for _, i := range gins {
		exec(i.def)
	}
	b.Logf("trigram indexes made, %v so far", time.Since(start))
	exec(`VACUUM (ANALYZE) users`)
	exec(`VACUUM (ANALYZE) user_grams`)
	exec(`CHECKPOINT`) // so that measuring does not share the disk with writing the seed out
	var size string
	conn.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
	b.Logf("seeded %d users in %v; the database takes %s", n, time.Since(start), size)
}
