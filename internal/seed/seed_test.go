package seed_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// TestNamesFollowTheRules checks that every seeded name and username passes the field
// rules the service applies (R-FLD-1, R-FLD-2), so a seeded store is one the API
// could have built.
func TestNamesFollowTheRules(t *testing.T) {
	for _, n := range []int{1, 2, 3, 99, 1000, 123_456, 999_999, 1_000_000, 9_999_999} {
		for k := n; k < n+200; k++ {
			if name, err := users.NormalizeName(seed.Name(k)); err != nil || name != seed.Name(k) {
				t.Fatalf("Name(%d) = %q: %v", k, seed.Name(k), err)
			}
			if u, err := users.NormalizeUsername(seed.Username(k)); err != nil || u != seed.Username(k) {
				t.Fatalf("Username(%d) = %q: %v", k, seed.Username(k), err)
			}
		}
	}
}

// TestQueries checks that every query kind is a valid search (R-SRCH-1).
func TestQueries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		kind := seed.MixedKind(r)
		q := seed.Query(r, kind, 1000)
		if _, err := users.NormalizeSearch(q); err != nil {
			t.Fatalf("%s query %q: %v", kind, q, err)
		}
	}
}

// TestFill seeds a store and checks that the tokens of seeded sessions find them.
func TestFill(t *testing.T) {
	ctx := context.Background()
	hash, err := seed.PasswordHash(ctx, auth.MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	set := seed.Set{Key: "test", PasswordHash: hash, Sessions: 3, Photos: 2, Now: time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)}
	store := storage.NewMemory()
	first, err := seed.Fill(ctx, store, set, 1, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first != 1 {
		t.Errorf("first ID %d, want 1", first)
	}
	for n := 1; n <= 20; n++ {
		for j := range 3 {
			digest, ok := auth.Tokens{}.Digest(set.Token(n, j))
			if !ok {
				t.Fatalf("Token(%d, %d) is not a valid token", n, j)
			}
			sess, err := store.SessionByToken(ctx, digest)
			if err != nil || sess.UserID != int64(n) || sess.Device.ID != set.DeviceID(n, j) {
				t.Fatalf("session of Token(%d, %d): %+v, %v", n, j, sess, err)
			}
		}
		u, err := store.User(ctx, int64(n))
		if err != nil || u.Username != seed.Username(n) || len(u.Photos) != 2 {
			t.Fatalf("User(%d) = %+v, %v", n, u, err)
		}
	}
	ok, _, err := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}).Verify(ctx, seed.Password, hash)
	if !ok || err != nil {
		t.Errorf("the seeded hash does not verify seed.Password: %v", err)
	}
}
