package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// Benchmarks of the HTTP layer without a network (docs/performance.md, "Hot paths"):
// the encoding of a private UserInfo, and whole requests through NewServer's handler
// next to a bare handler writing a body of the same size, the in-process counterpart
// of cmd/usersload's baseline.
//
//	go test -run '^$' -bench . ./httpapi

// hotServer returns the API's handler on 1,000 seeded users with 3 sessions and 3
// photos each, and the seeded set.
func hotServer(b *testing.B) (http.Handler, *users.Service, seed.Set) {
	b.Helper()
	ctx := context.Background()
	hash, err := seed.PasswordHash(ctx, auth.MinIterations)
	if err != nil {
		b.Fatal(err)
	}
	set := seed.Set{Key: "bench", PasswordHash: hash, Sessions: 3, Photos: 3, Now: time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)}
	store := storage.NewMemory()
	if _, err := seed.Fill(ctx, store, set, 1, 1000, nil); err != nil {
		b.Fatal(err)
	}
	svc := users.NewService(users.Config{
		Store:  store,
		Hasher: auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens: auth.Tokens{},
		Now:    func() time.Time { return set.Now }, // no session is ever touched (R-SES-1)
	})
	return httpapi.NewServer(svc, httpapi.Options{}), svc, set
}

// hotWriter is a ResponseWriter that keeps nothing, so that only the handler is measured.
type hotWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *hotWriter) Header() http.Header         { return w.h }
func (w *hotWriter) WriteHeader(code int)        { w.code = code }
func (w *hotWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkUserInfoJSON encodes the private UserInfo of GET /users/me for a user with
// 3 sessions and 3 photos, as the handlers do (R-OBJ-1, R-OBJ-3).
func BenchmarkUserInfoJSON(b *testing.B) {
	_, svc, set := hotServer(b)
	ctx := context.Background()
	token := set.Token(7, 0)
	sess, err := svc.Authenticate(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	info, err := svc.Me(ctx, sess, token)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(info)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := json.Marshal(info); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServe sends one request at a time through the handler of NewServer: the
// baseline writes the bytes of the me answer and nothing else.
func BenchmarkServe(b *testing.B) {
	h, _, set := hotServer(b)
	me := httptest.NewRequest(http.MethodGet, "/users/me", nil)
	me.Header.Set("Authorization", "Bearer "+set.Token(7, 0))
	w := &hotWriter{h: http.Header{}}
	h.ServeHTTP(w, me)
	if w.code != http.StatusOK {
		b.Fatalf("GET /users/me: %d", w.code)
	}
	body := make([]byte, w.n)
	length := strconv.Itoa(len(body))
	baseline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	routes := []struct {
		name string
		h    http.Handler
		req  *http.Request
	}{
		{"baseline", baseline, me},
		{"me", h, me},
		{"get", h, httptest.NewRequest(http.MethodGet, "/users/42", nil)},
		{"search", h, httptest.NewRequest(http.MethodGet, "/users?s=mart", nil)},
	}
	for _, rt := range routes {
		b.Run("route="+rt.name, func(b *testing.B) {
			for b.Loop() {
				clear(w.h)
				w.code, w.n = 0, 0
				rt.h.ServeHTTP(w, rt.req)
				if w.code != http.StatusOK {
					b.Fatalf("%s: status %d", rt.name, w.code)
				}
			}
		})
	}
}
