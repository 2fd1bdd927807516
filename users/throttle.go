package users

import (
	"container/list"
	"sync"
	"time"
)

// throttle counts failed attempts per key and blocks a key that failed too often
// (R-SEC-4): after limit failures within window, every attempt is refused until the
// oldest of them leaves the window. It is in memory only and holds at most max keys;
// when full, the key touched least recently is forgotten, so a flood of made-up
// usernames cannot grow it without bound.
type throttle struct {
	limit  int
	window time.Duration
	max    int

	mu    sync.Mutex
	byKey map[string]*list.Element // of *attempts
	lru   list.List                // front: most recently touched
}

type attempts struct {
	key      string
	failures []time.Time // oldest first, at most limit
}

func newThrottle(limit int, window time.Duration, max int) *throttle {
	return &throttle{limit: limit, window: window, max: max, byKey: make(map[string]*list.Element)}
}

// blocked returns how long key is still blocked at now, or 0.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		return 0
	}
	a := e.Value.(*attempts)
	a.prune(now, t.window)
	if len(a.failures) < t.limit {
		return 0
	}
	return a.failures[0].Add(t.window).Sub(now)
}

// fail records a failed attempt of key at now.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
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

// clear forgets key's failures, after a success.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[key]; ok {
		delete(t.byKey, key)
		t.lru.Remove(e)
	}
}

// size returns the number of keys held.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

func (a *attempts) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(a.failures) && !a.failures[i].Add(window).After(now) {
		i++
	}
	a.failures = a.failures[i:]
}
