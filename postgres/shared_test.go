package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"usersapi/postgres/pgtest"
	"usersapi/users"
	"usersapi/users/throttletest"
)

// testPool returns the pool of a Store on a fresh database.
func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	s, err := Open(context.Background(), pgtest.NewDB(t), &Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Pool()
}

func TestThrottle(t *testing.T) {
	pool := testPool(t)
	throttletest.Run(t, func(t *testing.T) users.Throttle {
		return NewThrottle(pool, "password", users.MaxFailures, users.FailureWindow)
	}, users.MaxFailures, users.FailureWindow, true)
}

// TestThrottleKinds: the password and account key throttles count apart.
func TestThrottleKinds(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	pw, key := NewThrottle(pool, "password", 1, time.Minute), NewThrottle(pool, "key", 1, time.Minute)
	now := time.Now()
	r, err := pw.Begin(ctx, "7", now)
	if err != nil || r.End == nil {
		t.Fatalf("Begin: %+v, %v", r, err)
	}
	r.End(ctx, now, users.Failed)
	if r, err := key.Begin(ctx, "7", now); err != nil || r.End == nil {
		t.Fatalf("key throttle after a password failure of the same key: %+v, %v; want a check", r, err)
	}
}

// TestThrottleSweep: keys whose failures left the window, and checks whose lease
// ended, are removed.
func TestThrottleSweep(t *testing.T) {
	pool := testPool(t)
	ctx := context.Background()
	th := NewThrottle(pool, "password", 10, time.Minute)
	t0 := time.Now()
	for i := range 5 {
		r, err := th.Begin(ctx, "k"+string(rune('a'+i)), t0)
		if err != nil || r.End == nil {
			t.Fatal(r, err)
		}
		if err := r.End(ctx, t0, users.Failed); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := th.Begin(ctx, "abandoned", t0); err != nil { // never ended
		t.Fatal(err)
	}
	if err := th.Sweep(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var keys, checks int
	pool.QueryRow(ctx, `SELECT count(*) FROM throttle_keys`).Scan(&keys)
	pool.QueryRow(ctx, `SELECT count(*) FROM throttle_checks`).Scan(&checks)
	if keys != 0 || checks != 0 {
		t.Errorf("after the sweep: %d keys and %d checks, want none", keys, checks)
	}
}

func TestFiles(t *testing.T) {
	pool := testPool(t)
	f := NewFiles(pool)
	ctx := context.Background()
	data := make([]byte, 3*chunkSize+123)
	rand.Read(data)

	if _, _, err := f.Open("a.png"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("Open of a missing file: %v, want ErrNotFound", err)
	}
	s, err := f.Stage(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != int64(len(data)) {
		t.Errorf("Size %d, want %d", s.Size(), len(data))
	}
	if _, _, err := f.Open("a.png"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("a staged file is visible before Commit: %v", err)
	}
	rc, _ := s.Open()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, data) {
		t.Fatalf("staged bytes: %d bytes, differ from the %d sent", len(got), len(data))
	}
	if err := s.Commit("a.png"); err != nil {
		t.Fatal(err)
	}
	s.Discard() // after Commit: nothing
	rs, mod, err := f.Open("a.png")
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(mod) > time.Minute {
		t.Errorf("modTime %v", mod)
	}
	// Ranges, as http.ServeContent reads them.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/a.png", nil)
	req.Header.Set("Range", "bytes=262140-262150")
	http.ServeContent(rec, req, "a.png", mod, rs)
	if rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), data[262140:262151]) {
		t.Errorf("range across a chunk boundary: %d, %q", rec.Code, rec.Body.Bytes())
	}
	rs.Seek(0, io.SeekStart)
	if got, _ := io.ReadAll(rs); !bytes.Equal(got, data) {
		t.Errorf("whole file read back differs")
	}

	// Replacing: the new bytes, whole.
	s2, err := f.Stage(ctx, strings.NewReader("second"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Commit("a.png"); err != nil {
		t.Fatal(err)
	}
	rs, _, _ = f.Open("a.png")
	if got, _ := io.ReadAll(rs); string(got) != "second" {
		t.Errorf("after replacing: %q", got)
	}

	// Too large: ErrTooLarge and nothing left.
	if _, err := f.Stage(ctx, bytes.NewReader(data), chunkSize); !errors.Is(err, users.ErrTooLarge) {
		t.Errorf("Stage past the limit: %v, want ErrTooLarge", err)
	}
	// Discarded: nothing left.
	s3, _ := f.Stage(ctx, strings.NewReader("gone"), 100)
	s3.Discard()
	var rows, chunks int
	pool.QueryRow(ctx, `SELECT count(*) FROM files`).Scan(&rows)
	pool.QueryRow(ctx, `SELECT count(*) FROM file_chunks`).Scan(&chunks)
	if rows != 1 || chunks != 1 {
		t.Errorf("after a refused and a discarded stage: %d files and %d chunks, want 1 and 1", rows, chunks)
	}
	if err := f.Remove("a.png", "missing.png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Open("a.png"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("Open after Remove: %v", err)
	}
	pool.QueryRow(ctx, `SELECT count(*) FROM file_chunks`).Scan(&chunks)
	if chunks != 0 {
		t.Errorf("after Remove: %d chunks left", chunks)
	}
	// An empty file.
	s4, err := f.Stage(ctx, strings.NewReader(""), 100)
	if err != nil || s4.Size() != 0 {
		t.Fatal(s4, err)
	}
	s4.Commit("empty.gif")
	rs, _, err = f.Open("empty.gif")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rs); len(got) != 0 || err != nil {
		t.Errorf("empty file: %q, %v", got, err)
	}
}

// TestLock: two holders on two pools (two servers) never hold the lock at once, and
// a wait can be cancelled.
func TestLock(t *testing.T) {
	pool := testPool(t)
	other, err := pgxpool.NewWithConfig(context.Background(), pool.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	locks := []*Lock{NewLock(pool), NewLock(other)}
	var held, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			unlock, err := locks[i%2].Lock(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := held.Add(1)
			if n > most.Load() {
				most.Store(n)
			}
			time.Sleep(5 * time.Millisecond)
			held.Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders at once, want 1", most.Load())
	}
	unlock, err := locks[0].Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := locks[1].Lock(ctx); err == nil {
		t.Error("Lock while another server holds it returned before its context ended")
	}
	unlock()
	u2, err := locks[1].Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after the holder let go: %v", err)
	}
	u2()
}
