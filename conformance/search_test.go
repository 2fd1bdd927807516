package conformance_test

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestSearch covers api.md §11 and R-SRCH-1: case-insensitive substring search on
// name and username, ordered exact, prefix, rest, ties by id; both paths of R-WIRE-1.
func TestSearch(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §11", "R-SRCH-1", "R-WIRE-1", "R-OBJ-2", "R-WIRE-10")
	tok := "q" + randomString(9)
	// Registered one after the other, so their ids rise in this order.
	inName := registerAs(t, "Dr "+strings.ToUpper(tok)+" Who", uniqueUsername(), "a long password")
	prefixB := registerAs(t, "Prefix B", tok+"b", "a long password")
	exact := registerAs(t, "Exact", tok, "a long password")
	inUsername := registerAs(t, "Inside", "a"+tok, "a long password")
	prefixA := registerAs(t, "Prefix A", tok+"a", "a long password")
	registerAs(t, "Nobody", uniqueUsername(), "a long password")
	want := []int64{exact.id, prefixB.id, prefixA.id, inName.id, inUsername.id}

	search := func(path string) []int64 {
		t.Helper()
		var ids []int64
		for i, u := range objects(t, path, do(t, "GET", path).wantArray(t)) {
			checkUserInfo(t, path+"["+itoa(i)+"]", u, false)
			ids = append(ids, integer(t, u, "id"))
		}
		return ids
	}

	run(t, "Exact username first, then prefixes, then the rest, ties by id", func(t *testing.T) {
		if got := search("/users/?s=" + tok); !slices.Equal(got, want) {
			t.Errorf("got ids %v, want %v (exact, prefix by id, rest by id)", got, want)
		}
	})
	run(t, "GET /users?s= is the same route", func(t *testing.T) {
		cites(t, "R-WIRE-1")
		if got := search("/users?s=" + tok); !slices.Equal(got, want) {
			t.Errorf("got ids %v, want %v", got, want)
		}
	})
	run(t, "The query is trimmed and case-insensitive", func(t *testing.T) {
		if got := search("/users/?s=" + url.QueryEscape("  "+strings.ToUpper(tok)+"  ")); !slices.Equal(got, want) {
			t.Errorf("got ids %v, want %v", got, want)
		}
	})
	run(t, "A substring of the name matches", func(t *testing.T) {
		q := url.QueryEscape(strings.ToLower("r " + tok + " w"))
		if got := search("/users/?s=" + q); !slices.Equal(got, []int64{inName.id}) {
			t.Errorf("got ids %v, want [%d]", got, inName.id)
		}
	})
	run(t, "No match is an empty array", func(t *testing.T) {
		res := do(t, "GET", "/users/?s=zz"+randomString(20))
		if arr := res.wantArray(t); len(arr) != 0 {
			t.Errorf("got %d users, want none", len(arr))
		}
		if got := strings.TrimSpace(string(res.body)); got != "[]" {
			t.Errorf("got body %q, want []", got)
		}
	})
	run(t, "A query outside 2..64 code points is 400", func(t *testing.T) {
		cites(t, "R-WIRE-10", "R-WIRE-5")
		for _, q := range []string{"", "?", "?s=", "?s=a", "?s=%20a%20", "?s=%C3%A9", "?s=" + strings.Repeat("a", 65),
			"?s=" + strings.Repeat("%C3%A9", 65)} {
			if q != "" && q[0] != '?' {
				q = "?s=" + q
			}
			res := do(t, "GET", "/users/"+q)
			if res.status != 400 {
				t.Errorf("query %q: %s, want 400", q, res)
				continue
			}
			res.errorBody(t)
		}
		for _, q := range []string{"?s=%C3%A9%C3%A9", "?s=" + strings.Repeat("%C3%A9", 64)} {
			do(t, "GET", "/users/"+q).wantArray(t)
		}
	})
}

// TestSearchLimit covers R-SRCH-1: at most 50 results, the lowest ids among equals.
func TestSearchLimit(t *testing.T) {
	server(t)
	t.Parallel()
	cites(t, "api.md §11", "R-SRCH-1")
	marker := "lim" + randomString(8)
	var (
		mu  sync.Mutex
		ids []int64
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, 4)
	for range 51 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req := build("POST", "/users", jsonOf(map[string]any{
				"name": "Limit " + marker, "username": uniqueUsername(), "password": "a long password", "deviceInfo": newDevice(),
			}))
			for range 60 { // retry while the server is busy (R-SEC-5)
				res, err := send(req)
				if err != nil {
					t.Errorf("register: %v", err)
					return
				}
				if res.status == 503 {
					sleepRetryAfter(res)
					continue
				}
				if res.status != 200 {
					t.Errorf("register: %s", res)
					return
				}
				id, err := decodeID(res.body)
				if err != nil {
					t.Errorf("register: %s: %v", res, err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
				return
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(ids)
	var got []int64
	for _, u := range objects(t, "search", do(t, "GET", "/users/?s="+marker).wantArray(t)) {
		got = append(got, integer(t, u, "id"))
	}
	if !slices.Equal(got, ids[:50]) {
		t.Errorf("got %d ids %v, want the 50 lowest of the 51 matching, by id: %v", len(got), got, ids[:50])
	}
}
