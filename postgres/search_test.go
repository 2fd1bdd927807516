package postgres_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"usersapi/postgres"
	"usersapi/postgres/pgtest"
	"usersapi/storage"
	"usersapi/users"
)

// TestSearchMatchesMemory compares SearchUsers with the memory store's on random
// names over a small alphabet (so that queries of every length match many users),
// with LIKE's own characters and non-ASCII letters among them, through renames and
// deletions, with a window of a few users so that both of its ways are taken.
func TestSearchMatchesMemory(t *testing.T) {
	defer postgres.SetWindow(7)()
	pg := open(t, pgtest.NewDB(t))
	defer pg.Close()
	mem := storage.NewMemory()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aabbcÉé Жж%_\\-'İ")
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	uname := func() string {
		const letters = "abcab01"
		b := []byte{"abc"[r.IntN(3)]}
		for range 4 + r.IntN(5) {
			b = append(b, letters[r.IntN(len(letters))])
		}
		return string(b)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids [][2]int64
	var names []string
	for i := 0; len(ids) < 300; i++ {
		u := users.User{Name: word(1 + r.IntN(8)), Username: uname(), PasswordHash: "h", CreatedAt: at}
		x := users.Session{ID: fmt.Sprint("s", i), TokenHash: fmt.Sprint("t", i), CreatedAt: at, UpdatedAt: at, Device: users.DeviceInfo{ID: "d"}}
		a, errA := mem.CreateUser(ctx, u, x)
		b, errB := pg.CreateUser(ctx, u, x)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("CreateUser(%q): memory %v, postgres %v", u.Username, errA, errB)
		}
		if errA != nil {
			continue
		}
		ids = append(ids, [2]int64{a.ID, b.ID}) // a refused registration uses up an ID in postgres only
		names = append(names, u.Username, strings.ToLower(u.Name))
	}
	compare := func(phase string) {
		t.Helper()
		queries := []string{"a", "b", "é", "ж", "%", "_", "\\", "i", "i̇", "ab", "a0", "%_", "a b", "zz", "abab"}
		for range 150 {
			s := []rune(names[r.IntN(len(names))])
			i := r.IntN(len(s))
			n := min(len(s)-i, 1+r.IntN(4))
			queries = append(queries, string(s[i:i+n]))
		}
		for _, q := range queries {
			q = strings.ToLower(q)
			for _, limit := range []int{1, 5, 50} {
				want, _ := mem.SearchUsers(ctx, q, limit)
				got, err := pg.SearchUsers(ctx, q, limit)
				if err != nil {
					t.Fatalf("SearchUsers(%q): %v", q, err)
				}
				if w, g := usernames(want), usernames(got); !slices.Equal(w, g) {
					t.Errorf("%s: SearchUsers(%q, %d):\n got  %v\n want %v", phase, q, limit, g, w)
				}
			}
		}
	}
	compare("after creating")
	for range 100 {
		id := ids[r.IntN(len(ids))]
		name := word(1 + r.IntN(8))
		errA := mem.UpdateUser(ctx, id[0], users.UserUpdate{Name: &name})
		errB := pg.UpdateUser(ctx, id[1], users.UserUpdate{Name: &name})
		if (errA == nil) != (errB == nil) {
			t.Fatalf("UpdateUser: memory %v, postgres %v", errA, errB)
		}
		names = append(names, strings.ToLower(name))
	}
	for range 40 {
		id := ids[r.IntN(len(ids))]
		_, errA := mem.DeleteUser(ctx, id[0])
		_, errB := pg.DeleteUser(ctx, id[1])
		if (errA == nil) != (errB == nil) {
			t.Fatalf("DeleteUser: memory %v, postgres %v", errA, errB)
		}
	}
	compare("after renames and deletions")
}

func usernames(list []users.User) []string {
	out := []string{}
	for _, u := range list {
		out = append(out, u.Username)
	}
	return out
}
