// Package throttletest checks every guarantee documented on users.Throttle, for the
// memory throttle and for every shared one, as storagetest does for stores. It imports
// only users.
package throttletest

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"usersapi/users"
)

// Run checks the Throttle that open returns; each throttle allows limit failures per
// window. Keys are new in every test, so open may return throttles on shared state.
// If shared is true, two throttles open returns within one test must count together,
// as the servers that share a database do.
func Run(t *testing.T, open func(t *testing.T) users.Throttle, limit int, window time.Duration, shared bool) {
	t.Run("Blocked after limit failures, until the oldest leaves the window", func(t *testing.T) {
		th, key := open(t), newKey()
		t0 := now()
		for i := range limit {
			fail(t, th, key, t0.Add(time.Duration(i)*time.Second))
		}
		wantBlocked(t, th, key, t0.Add(time.Duration(limit)*time.Second), window-time.Duration(limit)*time.Second)
		wantCheck(t, th, key, t0.Add(window), users.Abandoned)
	})
	t.Run("Keys are counted apart", func(t *testing.T) {
		th, a, b := open(t), newKey(), newKey()
		t0 := now()
		for range limit {
			fail(t, th, a, t0)
		}
		wantCheck(t, th, b, t0, users.Abandoned)
	})
	t.Run("A success forgets the failures", func(t *testing.T) {
		th, key := open(t), newKey()
		t0 := now()
		for range limit - 1 {
			fail(t, th, key, t0)
		}
		wantCheck(t, th, key, t0, users.Succeeded)
		for range limit - 1 {
			fail(t, th, key, t0)
		}
		wantCheck(t, th, key, t0, users.Abandoned)
	})
	t.Run("Clear forgets the failures", func(t *testing.T) {
		th, key := open(t), newKey()
		t0 := now()
		for range limit {
			fail(t, th, key, t0)
		}
		if err := th.Clear(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, th, key, t0, users.Abandoned)
	})
	t.Run("Abandoned checks count nothing", func(t *testing.T) {
		th, key := open(t), newKey()
		t0 := now()
		for range 3 * limit {
			wantCheck(t, th, key, t0, users.Abandoned)
		}
	})
	t.Run("At most limit checks at once, then a turn when one ends", func(t *testing.T) {
		th, key := open(t), newKey()
		testAtOnce(t, th, th, key, limit)
	})
	t.Run("Checks under way count with the failures", func(t *testing.T) {
		th, key := open(t), newKey()
		t0 := now()
		for range limit - 2 {
			fail(t, th, key, t0)
		}
		ends := []func(context.Context, time.Time, users.Outcome) error{reserve(t, th, key, t0), reserve(t, th, key, t0)}
		r := begin(t, th, key, t0)
		if r.Retry == nil {
			t.Fatalf("Begin with %d failures and 2 checks under way: %+v, want Retry", limit-2, r)
		}
		for _, end := range ends {
			if err := end(context.Background(), t0, users.Failed); err != nil {
				t.Fatal(err)
			}
		}
		waitClosed(t, r.Retry)
		wantBlocked(t, th, key, t0.Add(time.Second), window-time.Second)
	})
	if shared {
		t.Run("Two throttles on shared state count together", func(t *testing.T) {
			a, b, key := open(t), open(t), newKey()
			t0 := now()
			for i := range limit {
				fail(t, []users.Throttle{a, b}[i%2], key, t0)
			}
			wantBlocked(t, a, key, t0, window)
			wantBlocked(t, b, key, t0, window)
			if err := a.Clear(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			wantCheck(t, b, key, t0, users.Abandoned)
		})
		t.Run("Two throttles on shared state share the checks under way", func(t *testing.T) {
			a, b, key := open(t), open(t), newKey()
			testAtOnce(t, a, b, key, limit)
		})
	}
}

// testAtOnce begins 2*limit checks of key at once, half on a and half on b: limit of
// them are reserved and the others told to retry; when one reserved check ends, a
// retry is let in.
func testAtOnce(t *testing.T, a, b users.Throttle, key string, limit int) {
	t0 := now()
	var mu sync.Mutex
	var ends []func(context.Context, time.Time, users.Outcome) error
	var retries []<-chan struct{}
	var wg sync.WaitGroup
	for i := range 2 * limit {
		wg.Go(func() {
			r := begin(t, []users.Throttle{a, b}[i%2], key, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.End != nil:
				ends = append(ends, r.End)
			case r.Retry != nil:
				retries = append(retries, r.Retry)
			default:
				t.Errorf("Begin with no failures: blocked for %v", r.Blocked)
			}
		})
	}
	wg.Wait()
	if len(ends) != limit || len(retries) != limit {
		t.Fatalf("%d checks begun at once: %d reserved and %d to retry, want %d and %d", 2*limit, len(ends), len(retries), limit, limit)
	}
	if err := ends[0](context.Background(), t0, users.Abandoned); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, retries[0])
	end := reserve(t, b, key, t0)
	for _, e := range append(ends[1:], end) {
		if err := e(context.Background(), t0, users.Abandoned); err != nil {
			t.Fatal(err)
		}
	}
}

// now is the time as the Service gives it to throttles: UTC, to the second.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func newKey() string { return "throttletest-" + rand.Text() }

func begin(t *testing.T, th users.Throttle, key string, now time.Time) users.Reservation {
	t.Helper()
	r, err := th.Begin(context.Background(), key, now)
	if err != nil {
		t.Fatalf("Begin(%q): %v", key, err)
	}
	return r
}

// reserve begins a check that must be reserved.
func reserve(t *testing.T, th users.Throttle, key string, now time.Time) func(context.Context, time.Time, users.Outcome) error {
	t.Helper()
	r := begin(t, th, key, now)
	if r.End == nil {
		t.Fatalf("Begin(%q) at %v: %+v, want a reserved check", key, now, r)
	}
	return r.End
}

func wantCheck(t *testing.T, th users.Throttle, key string, now time.Time, o users.Outcome) {
	t.Helper()
	if err := reserve(t, th, key, now)(context.Background(), now, o); err != nil {
		t.Fatalf("End: %v", err)
	}
}

func fail(t *testing.T, th users.Throttle, key string, now time.Time) {
	t.Helper()
	wantCheck(t, th, key, now, users.Failed)
}

func wantBlocked(t *testing.T, th users.Throttle, key string, now time.Time, want time.Duration) {
	t.Helper()
	r := begin(t, th, key, now)
	if r.End != nil {
		r.End(context.Background(), now, users.Abandoned)
		t.Fatalf("Begin(%q) at %v: reserved, want blocked for %v", key, now, want)
	}
	if r.Blocked != want {
		t.Fatalf("Begin(%q) at %v: blocked %v (retry %v), want blocked for %v", key, now, r.Blocked, r.Retry != nil, want)
	}
}

// waitClosed waits for a Retry channel, which a shared throttle may close by polling.
func waitClosed(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("Retry was not closed 10 s after a check ended")
	}
}
