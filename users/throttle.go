package users

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Throttle counts the failed secret checks of each key and holds back a key that
// failed too often (R-SEC-4): after MaxFailures failures within FailureWindow, every
// check is refused until the oldest of them leaves the window, and at most that many
// checks of one key run at once, counting the failures in the window. Servers that
// share a store must share their throttles too, or each would allow its own ten.
// NewMemoryThrottle is the one for a single process; package postgres has one that
// every instance on a database shares. users/throttletest checks them all.
type Throttle interface {
	// Begin reserves a check of key at now, or says why it cannot (see Reservation).
	Begin(ctx context.Context, key string, now time.Time) (Reservation, error)
	// Clear forgets key's failures: its owner proved themselves another way.
	Clear(ctx context.Context, key string) error
}

// Reservation is the answer of Throttle.Begin: exactly one of its fields is set.
type Reservation struct {
	// Blocked is how long key stays blocked by failures; nothing is reserved.
	Blocked time.Duration
	// Retry, while only checks under way hold key back, is closed when trying again
	// may succeed; nothing is reserved.
	Retry <-chan struct{}
	// End reports the outcome of the reserved check; the caller calls it exactly once.
	End func(ctx context.Context, now time.Time, o Outcome) error
}

// Outcome is how a reserved check ended.
type Outcome int

const (
	// Abandoned means nothing was decided (an error, or no check after all).
	Abandoned Outcome = iota
	// Failed means the secret was wrong, or the account unknown.
	Failed
	// Succeeded means the secret was right.
	Succeeded
)

// NewMemoryThrottle returns a Throttle in memory that allows limit failures per window
// and holds the failures of at most max keys (see throttle).
func NewMemoryThrottle(limit int, window time.Duration, max int) Throttle {
	return newThrottle(limit, window, max)
}

// Begin implements Throttle.
func (t *throttle) Begin(_ context.Context, key string, now time.Time) (Reservation, error) {
	blocked, retry := t.begin(key, now)
	if blocked > 0 || retry != nil {
		return Reservation{Blocked: blocked, Retry: retry}, nil
	}
	return Reservation{End: func(_ context.Context, now time.Time, o Outcome) error {
		t.end(key, now, o)
		return nil
	}}, nil
}

// Clear implements Throttle.
func (t *throttle) Clear(_ context.Context, key string) error {
	t.clear(key)
	return nil
}

// throttle counts failed attempts per key and blocks a key that failed too often
// (R-SEC-4): after limit failures within window, every attempt is refused until the
// oldest of them leaves the window.
//
// A check must be reserved with begin before the secret is hashed, and its outcome
// reported with end. At most limit checks of one key run at once, counting failures
// already in the window, so that many attempts sent at once cannot all be checked
// before the first failure is counted: at most limit secrets of one key are ever
// checked per window. An attempt past that bound is not refused as if it had failed
// (a 429 claims failures that did not happen, R-SEC-4): it waits for a check under way
// to end and tries again.
//
// It is in memory only and holds the failures of at most max keys; when full, the key
// that failed least recently is forgotten, so a flood of made-up usernames cannot grow
// it without bound. A key enters only after a failed check, which costs a full slow
// hash, so pushing a key out costs max hashes: far longer than the window.
type throttle struct {
	limit  int
	window time.Duration
	max    int

	mu      sync.Mutex
	byKey   map[string]*list.Element // of *attempts
	lru     list.List                // front: most recently failed
	pending map[string]int           // checks under way, per key; only keys with some
	ended   chan struct{}            // closed when a check ends, if someone waits for that
}

type attempts struct {
	key      string
	failures []time.Time // oldest first, at most limit
}

func newThrottle(limit int, window time.Duration, max int) *throttle {
	return &throttle{limit: limit, window: window, max: max, byKey: make(map[string]*list.Element), pending: make(map[string]int)}
}

// begin reserves a check of key at now. If key is blocked by failures it returns how
// long for, and nothing is reserved. If it is held back only by checks under way, it
// returns a channel that is closed when one of them ends, and nothing is reserved: the
// caller may wait for it and call begin again. Otherwise it returns 0 and nil, and the
// caller must call end for key exactly once.
func (t *throttle) begin(key string, now time.Time) (blocked time.Duration, turn <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var failures []time.Time
	if e, ok := t.byKey[key]; ok {
		a := e.Value.(*attempts)
		a.prune(now, t.window)
		if len(a.failures) == 0 {
			delete(t.byKey, key)
			t.lru.Remove(e)
		}
		failures = a.failures
	}
	if len(failures) >= t.limit {
		return failures[0].Add(t.window).Sub(now), nil
	}
	if len(failures)+t.pending[key] >= t.limit {
		if t.ended == nil {
			t.ended = make(chan struct{})
		}
		return 0, t.ended
	}
	t.pending[key]++
	return 0, nil
}

// end reports the outcome of a check reserved by begin.
func (t *throttle) end(key string, now time.Time, o Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.pending[key]; n > 1 {
		t.pending[key] = n - 1
	} else {
		delete(t.pending, key)
	}
	if t.ended != nil {
		close(t.ended)
		t.ended = nil
	}
	switch o {
	case Failed:
		t.fail(key, now)
	case Succeeded:
		t.forget(key)
	}
}

// clear forgets key's failures: its owner proved themselves another way.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forget(key)
}

// fail records a failed attempt of key at now. t.mu is held.
func (t *throttle) fail(key string, now time.Time) {
	e, ok := t.byKey[key]
	if !ok {
		if t.lru.Len() >= t.max {
			oldest := t.lru.Back()
			delete(t.byKey, oldest.Value.(*attempts).key)
			t.lru.Remove(oldest)
		}
		e = t.lru.PushFront(&attempts{key: key})
		t.byKey[key] = e
	}
	t.lru.MoveToFront(e)
	a := e.Value.(*attempts)
	a.prune(now, t.window)
	if len(a.failures) == t.limit {
		a.failures = a.failures[1:]
	}
	a.failures = append(a.failures, now)
}

// forget drops key's failures. t.mu is held.
func (t *throttle) forget(key string) {
	if e, ok := t.byKey[key]; ok {
		delete(t.byKey, key)
		t.lru.Remove(e)
	}
}

// size returns the number of keys held with failures, and with checks under way.
func (t *throttle) size() (failing, checking int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len(), len(t.pending)
}

func (a *attempts) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(a.failures) && !a.failures[i].Add(window).After(now) {
		i++
	}
	a.failures = a.failures[i:]
}
