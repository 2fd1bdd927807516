package httpapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// BenchmarkEncodeUserInfo compares json.Marshal with appendUserInfo (encode.go) on
// the answer of BenchmarkUserInfoJSON: the private UserInfo of GET /users/me for
// seeded user 7 with 3 sessions and 3 photos (docs/performance.md, "Hot paths").
//
//	go test -run '^$' -bench 'EncodeUserInfo' -benchmem -count 3 ./httpapi
func BenchmarkEncodeUserInfo(b *testing.B) {
	info := meAnswer(b)
	want, err := json.Marshal(info)
	if err != nil {
		b.Fatal(err)
	}
	if got, ok := appendUserInfo(nil, &info); !ok || string(got) != string(want) {
		b.Fatalf("appendUserInfo differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
	b.Run("enc=json.Marshal", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		for b.Loop() {
			if _, err := json.Marshal(info); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("enc=appendUserInfo", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		buf := make([]byte, 0, 2048) // as writeJSON's pooled buffer
		for b.Loop() {
			buf, _ = appendUserInfo(buf[:0], &info)
		}
	})
}

// meAnswer returns what Service.Me answers for seeded user 7 with 3 sessions and 3
// photos, on the data set of hotServer in handlers_bench_test.go.
func meAnswer(b *testing.B) users.UserInfo {
	b.Helper()
	ctx := context.Background()
	hash, err := seed.PasswordHash(ctx, auth.MinIterations)
	if err != nil {
		b.Fatal(err)
	}
	set := seed.Set{Key: "bench", PasswordHash: hash, Sessions: 3, Photos: 3, Now: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}
	store := storage.NewMemory()
	if _, err := seed.Fill(ctx, store, set, 1, 7, nil); err != nil {
		b.Fatal(err)
	}
	svc := users.NewService(users.Config{
		Store:  store,
		Hasher: auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens: auth.Tokens{},
		Now:    func() time.Time { return set.Now },
	})
	token := set.Token(7, 0)
	sess, err := svc.Authenticate(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	info, err := svc.Me(ctx, sess, token)
	if err != nil {
		b.Fatal(err)
	}
	return info
}
